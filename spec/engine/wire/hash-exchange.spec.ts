/**
 * BEP 52 hash messages between two real wires: the v2 bit of the handshake,
 * a request answered with hashes or rejected, an unanswered one timing out,
 * late or unsolicited answers ignored, and malformed messages closing the
 * connection with a reason.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { HashExchange } from '../../../lib/engine/wire/hash-exchange.ts'
import { encodeHashes, type HashRequest } from '../../../lib/engine/wire/hash-messages.ts'
import { pushRaw } from '../../../lib/engine/wire/protocol-internals.ts'
import { silentV2Peer, wirePair } from '../../support/wire-pair.ts'

const root = new Uint8Array(randomBytes(32))
const req: HashRequest = { root, base: 2, index: 0, length: 2, proofLayers: 1 }
const h = (n: number): Uint8Array => new Uint8Array(32).fill(n)

test('the v2 bit: set in the handshake of the side that asks for it, seen by the other', async () => {
  const { ours, theirs } = await wirePair({ ours: true, theirs: false })
  assert.equal(theirs.peerV2, true)
  assert.equal(ours.peerV2, false)
  // The library's own bits are still there (extended, fast when asked for).
  assert.equal(((theirs.peerReserved?.[5] ?? 0) & 0x10) !== 0, true)
})

test('a request is answered with the nodes and uncles the other side serves', async () => {
  const { ours, theirs } = await wirePair({ ours: true, theirs: true })
  const asked: HashRequest[] = []
  void new HashExchange(theirs, { serve: (r) => { asked.push(r); return [h(1), h(2), h(3)] } })
  const x = new HashExchange(ours)
  assert.equal(x.peerV2, true)
  const a = await x.request(req)
  assert.ok(a.ok)
  assert.deepEqual(a.nodes, [h(1), h(2)])
  assert.deepEqual(a.uncles, [h(3)])
  assert.equal(asked.length, 1)
  assert.equal(x.inflight, 0)
})

test('a range the other side does not hold is rejected', async () => {
  const { ours, theirs } = await wirePair({ ours: true, theirs: true })
  void new HashExchange(theirs, { serve: () => null })
  const a = await new HashExchange(ours).request(req)
  assert.deepEqual(a, { ok: false, reason: 'rejected' })
  // Without a serve function every request is rejected too.
  const other = await wirePair({ ours: true, theirs: true })
  void new HashExchange(other.theirs)
  assert.deepEqual(await new HashExchange(other.ours).request(req), { ok: false, reason: 'rejected' })
})

test('a peer that never answers: the request times out; its late answer is ignored', async () => {
  const ours = await silentV2Peer()
  const x = new HashExchange(ours, { timeoutMs: 100 })
  assert.equal(x.peerV2, true)
  assert.deepEqual(await x.request(req), { ok: false, reason: 'timed out' })
  assert.equal(x.inflight, 0)
})

test('unsolicited hashes are ignored; the connection stays', async () => {
  const { ours, theirs } = await wirePair({ ours: true, theirs: true })
  const x = new HashExchange(ours)
  void new HashExchange(theirs, { serve: () => [h(1), h(2), h(3)] })
  let error: string | null = null
  ours.on('protocol-error', (r: string) => { error = r })
  pushRaw(theirs, encodeHashes({ ...req, index: 6 }, [h(1), h(2), h(3)]))
  // The answer to a real request comes after the unsolicited one, on the same connection.
  const a = await x.request(req)
  assert.ok(a.ok)
  assert.equal(error, null)
})

test('a hashes message with the wrong number of hashes is a protocol error with a reason', async () => {
  const { ours, theirs } = await wirePair({ ours: true, theirs: true })
  const x = new HashExchange(ours)
  const pending = x.request(req)
  const error = once(ours, 'protocol-error')
  // Two nodes and one uncle are due; two hashes come.
  pushRaw(theirs, encodeHashes(req, [h(1), h(2)]))
  const [reason] = await error as [string]
  assert.match(reason, /carries 2 hashes, expected 2 nodes and 1 uncles/)
  assert.deepEqual(await pending, { ok: false, reason: 'closed' })
  assert.deepEqual(await x.request(req), { ok: false, reason: 'closed' })
})

test('a hash request of the wrong length is refused before it is parsed', async () => {
  const { ours, theirs } = await wirePair({ ours: true, theirs: true })
  void new HashExchange(ours)
  const malformed = once(ours, 'malformed')
  const bytes = new Uint8Array(4 + 30)
  bytes[3] = 30
  bytes[4] = 21
  pushRaw(theirs, bytes)
  const [id, n] = await malformed as [number, number]
  assert.equal(id, 21)
  assert.equal(n, 30)
})

test('a hash message on a connection its torrent keeps v1 closes it (as libtorrent does), the v2 bit notwithstanding', async () => {
  for (const msg of ['request', 'hashes'] as const) {
    const { ours, theirs } = await wirePair({ ours: true, theirs: true })
    // A hybrid's v1 connection: the peer set the v2 bit, but it did not upgrade.
    ours.speaksV2 = false
    let served = 0
    const x = new HashExchange(ours, { serve: () => { served++; return [h(1), h(2), h(3)] } })
    assert.equal(x.peerV2, false)
    const error = once(ours, 'protocol-error')
    const asker = new HashExchange(theirs)
    if (msg === 'request') void asker.request(req)
    else pushRaw(theirs, encodeHashes(req, [h(1), h(2), h(3)]))
    const [reason] = await error as [string]
    asker.close()
    assert.equal(reason, 'a BEP 52 hash message on a v1 connection')
    assert.equal(served, 0)
  }
})

test('a connection its torrent made v2 speaks v2 whatever bits the peer set', async () => {
  const { ours, theirs } = await wirePair({ ours: true, theirs: false })
  assert.equal(new HashExchange(ours).peerV2, false)
  ours.speaksV2 = true
  void new HashExchange(theirs, { serve: () => [h(1), h(2), h(3)] })
  theirs.speaksV2 = true
  const a = await new HashExchange(ours).request(req)
  assert.ok(a.ok)
})
