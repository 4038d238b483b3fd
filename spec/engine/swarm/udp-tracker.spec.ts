/**
 * lib/engine/swarm/udp-tracker.ts against UDP servers of the test's own on 127.0.0.1 and ::1
 * (exact datagrams: IPv6 peers, truncation, wrong transaction ids, oversize), on a manual clock
 * for connection-id reuse and BEP 15's retransmission timer.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { announceUdp, ConnectionIds, MAX_UDP_ANSWER, u32, UDP_ACTION, UdpTrackerError } from '../../../lib/engine/swarm/udp-tracker.ts'
import { udpGiveUpAfter } from '../../../lib/engine/swarm/announce-policy.ts'
import type { AnnounceParams } from '../../../lib/engine/swarm/tracker-reply.ts'
import { ManualTimers } from '../../support/manual-timers.ts'
import { pollUntil } from '../../support/peers/wait.ts'

const params: AnnounceParams = {
  infoHash: randomBytes(20), peerId: randomBytes(20), port: 6881, uploaded: 10, downloaded: 20, left: 30,
  event: 'started', numwant: 50, key: 0x01020304, ip: '203.0.113.9'
}

interface Fake {
  readonly url: string
  /** Every datagram received, oldest first. */
  readonly got: Buffer[]
  connects: number
}

/** A UDP tracker of the test's own: answers connect with a fixed id, then `answer(request, tx)`; null: it answers nothing at all. */
const fake = async (
  t: { after: (fn: () => unknown) => void },
  answer: ((req: Buffer, tx: Buffer) => Buffer | Buffer[] | null) | null,
  family: 'udp4' | 'udp6' = 'udp4'
): Promise<Fake> => {
  const sock: Socket = createSocket(family)
  const host = family === 'udp4' ? '127.0.0.1' : '::1'
  await new Promise<void>((resolve) => sock.bind(0, host, resolve))
  t.after(() => new Promise<void>((resolve) => sock.close(() => resolve())))
  const state: Fake = { url: '', got: [], connects: 0 }
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    state.got.push(msg)
    if (answer === null || msg.length < 16) return // null: a tracker that never answers
    const action = msg.readUInt32BE(8)
    const tx = Buffer.from(msg.subarray(12, 16))
    if (action === UDP_ACTION.connect && msg.readBigUInt64BE(0) === 0x41727101980n) {
      state.connects++
      sock.send(Buffer.concat([u32(0), tx, Buffer.from('CONNID01')]), from.port, from.address)
      return
    }
    const out = answer(msg, tx)
    for (const d of out === null ? [] : Array.isArray(out) ? out : [out]) sock.send(d, from.port, from.address)
  })
  const port = (sock.address() as AddressInfo).port
  return Object.assign(state, { url: family === 'udp4' ? `udp://127.0.0.1:${port}/announce` : `udp://[::1]:${port}/announce` })
}

const v6peer = (last: number, port: number): Buffer => {
  const b = Buffer.alloc(18)
  b.writeUInt16BE(last, 14)
  b.writeUInt16BE(port, 16)
  return b
}
const head = (tx: Buffer, interval = 60, leechers = 2, seeders = 1): Buffer => Buffer.concat([u32(UDP_ACTION.announce), tx, u32(interval), u32(leechers), u32(seeders)])

test('an announce over IPv4: every BEP 15 field in place, 6-byte peers back', async (t) => {
  const tr = await fake(t, (_req, tx) => Buffer.concat([head(tx, 90, 4, 3), Buffer.from([10, 0, 0, 1, 0x1a, 0xe1])]))
  const reply = await announceUdp(tr.url, params, { connectionIds: new ConnectionIds() })
  assert.deepEqual([reply.interval, reply.incomplete, reply.complete, reply.peers], [90, 4, 3, [{ host: '10.0.0.1', port: 6881 }]])
  const req = tr.got.at(-1)!
  assert.equal(req.length, 98)
  assert.equal(req.subarray(0, 8).toString(), 'CONNID01')
  assert.equal(req.readUInt32BE(8), UDP_ACTION.announce)
  assert.ok(req.subarray(16, 36).equals(params.infoHash))
  assert.ok(req.subarray(36, 56).equals(params.peerId))
  assert.deepEqual([req.readBigUInt64BE(56), req.readBigUInt64BE(64), req.readBigUInt64BE(72)], [20n, 30n, 10n]) // downloaded, left, uploaded
  assert.equal(req.readUInt32BE(80), 2) // started
  assert.deepEqual([...req.subarray(84, 88)], [203, 0, 113, 9])
  assert.deepEqual([req.readUInt32BE(88), req.readUInt32BE(92), req.readUInt16BE(96)], [0x01020304, 50, 6881])
})

test('an announce over IPv6 (::1): 18-byte IPv6 peers back', async (t) => {
  const tr = await fake(t, (_req, tx) => Buffer.concat([head(tx), v6peer(1, 6881), v6peer(2, 7000)]), 'udp6')
  const reply = await announceUdp(tr.url, { ...params, ip: '2001:db8::1' }, { connectionIds: new ConnectionIds() })
  assert.deepEqual(reply.peers, [{ host: '::1', port: 6881 }, { host: '::2', port: 7000 }])
  assert.deepEqual([...tr.got.at(-1)!.subarray(84, 88)], [0, 0, 0, 0]) // no IPv4 address to give
})

test('the connection id is reused for a minute, then fetched again', async (t) => {
  const tr = await fake(t, (_req, tx) => head(tx))
  const clock = new ManualTimers()
  const ids = new ConnectionIds()
  await announceUdp(tr.url, params, { timers: clock, connectionIds: ids })
  clock.advance(59_000)
  await announceUdp(tr.url, params, { timers: clock, connectionIds: ids })
  assert.equal(tr.connects, 1)
  clock.advance(1_000)
  await announceUdp(tr.url, params, { timers: clock, connectionIds: ids })
  assert.equal(tr.connects, 2)
})

test('BEP 15 retransmissions after 15, 30, 60 and 120 s, then a clear failure (manual clock)', async (t) => {
  const tr = await fake(t, null)
  const clock = new ManualTimers()
  const failed = announceUdp(tr.url, params, { timers: clock, connectionIds: new ConnectionIds(), timeoutMs: udpGiveUpAfter(4) })
  let outcome: unknown
  failed.catch((err) => (outcome = err))
  const waits: number[] = []
  for (let sent = 1; sent <= 4; sent++) {
    await pollUntil(() => tr.got.length === sent && clock.delays().length === 1, { timeoutMs: 10_000, what: `connect datagram ${sent}` })
    waits.push(clock.delays()[0]!)
    clock.advance(clock.delays()[0]!)
  }
  await pollUntil(() => outcome !== undefined, { timeoutMs: 10_000, what: 'the announce to fail' })
  assert.deepEqual(waits, [15_000, 30_000, 60_000, 120_000])
  assert.equal(tr.got.length, 4)
  assert.ok(outcome instanceof UdpTrackerError && /no answer from the tracker at 127\.0\.0\.1:\d+/.test(outcome.message), String(outcome))
})

test('bad datagrams: truncated, wrong transaction id, error, wrong action, oversized, short announce answer', async (t) => {
  const cases: Array<[string, (req: Buffer, tx: Buffer) => Buffer, RegExp]> = [
    ['truncated', () => Buffer.from([0, 0, 0, 1, 9]), /5-byte datagram/],
    ['error', (_r, tx) => Buffer.concat([u32(UDP_ACTION.error), tx, Buffer.from('unregistered torrent')]), /tracker error: unregistered torrent/],
    ['wrong action', (_r, tx) => Buffer.concat([u32(UDP_ACTION.scrape), tx, Buffer.alloc(12)]), /answered action 2, expected 1/],
    ['oversized', (_r, tx) => Buffer.concat([head(tx), Buffer.alloc(MAX_UDP_ANSWER)]), /-byte answer, more than/],
    ['short announce answer', (_r, tx) => Buffer.concat([u32(UDP_ACTION.announce), tx, u32(60)]), /12 bytes is shorter than 20/]
  ]
  for (const [what, answer, reason] of cases) {
    const tr = await fake(t, answer)
    await assert.rejects(announceUdp(tr.url, params, { connectionIds: new ConnectionIds() }), (err: Error) => reason.test(err.message), what)
  }
  // A wrong transaction id is noise (a late answer to an earlier request): ignored, the right answer after it is taken.
  const tr = await fake(t, (_r, tx) => [head(Buffer.from(tx.map((x) => x ^ 0xff)), 1), head(tx, 77)])
  assert.equal((await announceUdp(tr.url, params, { connectionIds: new ConnectionIds() })).interval, 77)
})

test('a bad URL and an unresolvable host are errors, not throws', async () => {
  await assert.rejects(announceUdp('udp://127.0.0.1', params), /no port/)
  await assert.rejects(announceUdp('udp://no-such-host.invalid:6969', params), UdpTrackerError)
})
