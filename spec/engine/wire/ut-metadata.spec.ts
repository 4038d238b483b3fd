import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import fc from 'fast-check'
import type Wire from 'bittorrent-protocol'
import { utMetadata, utMetadataOf, METADATA_PIECE_SIZE, type UtMetadata } from '../../../lib/engine/wire/ut-metadata.ts'
import { createMetadataFetcher } from '../../../lib/engine/torrent/metadata-fetcher.ts'
import { readDictHead } from '../../../lib/engine/wire/bencode-head.ts'
import { metainfoFromInfoBytes } from '../../../lib/engine/metainfo/index.ts'
import { makeInfo, wirePair, within } from '../../support/discovery.ts'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A leecher wire (no metadata) connected to a seeder wire serving `served`. */
async function leechFrom (infoHash: string, served: Uint8Array | null): Promise<{ leech: Wire; seed: Wire }> {
  const [leech, seed] = await wirePair(infoHash, w => w.use(utMetadata({ info: null })), w => w.use(utMetadata({ info: served })))
  return { leech, seed }
}

function tampered (info: Uint8Array): Uint8Array {
  // Every piece is wrong, so whichever pieces the liar is asked for, the whole fails.
  const lie = Uint8Array.from(info)
  for (let i = 5; i < lie.length; i += METADATA_PIECE_SIZE) lie[i] ^= 0xff
  return lie
}

test('readDictHead: finds the end of the header and never throws on garbage', () => {
  const msg = enc('d8:msg_typei1e5:piecei2e10:total_sizei40000eeTRAILER')
  const head = readDictHead(msg)
  assert.ok(head)
  assert.equal(head.fields.get('msg_type'), 1)
  assert.equal(head.fields.get('piece'), 2)
  assert.equal(head.fields.get('total_size'), 40000)
  assert.equal(new TextDecoder().decode(msg.subarray(head.end)), 'TRAILER')
  assert.equal(readDictHead(enc('d5:piecei-1ee'))?.fields.get('piece'), -1)
  assert.equal(readDictHead(enc('d5:piecei99999999999999999999ee')), null, 'unsafe integer refused')
  assert.equal(readDictHead(enc('d1:x' + 'l'.repeat(10000) + 'e'.repeat(10000) + 'e')), null, 'deep nesting refused')
  assert.equal(readDictHead(enc('d5:piece')), null)
  assert.equal(readDictHead(enc('le')), null)
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => {
    const r = readDictHead(Uint8Array.of(0x64, ...bytes))
    assert.ok(r === null || (r.end > 0 && r.end <= bytes.length + 1))
  }), { numRuns: 2000 })
})

test('ut_metadata: fetches a 3-piece info dict from a peer, verified and parseable', { timeout: 10_000 }, async (t) => {
  const { info, infoHash } = makeInfo(2000) // ~40 KB: 3 metadata pieces
  assert.equal(Math.ceil(info.length / METADATA_PIECE_SIZE), 3)
  const { leech, seed } = await leechFrom(infoHash, info)
  t.after(() => { leech.destroy(); seed.destroy() })
  assert.equal(utMetadataOf(leech)?.peerMetadataSize, info.length)
  const fetcher = createMetadataFetcher({ infoHash })
  assert.equal(fetcher.add(leech), true)
  const got = await within(fetcher.metadata, 5000, 'metadata')
  assert.deepEqual(Buffer.from(got), Buffer.from(info))
  const meta = await metainfoFromInfoBytes(got, {})
  assert.ok(meta.ok, meta.ok ? '' : meta.reason)
  assert.equal(meta.value.infoHash, infoHash)
})

for (const order of ['liar first', 'honest first', 'liar alone, honest later'] as const) {
  test(`ut_metadata: a lying peer is reported and the honest copy is used (${order})`, { timeout: 10_000 }, async (t) => {
    const { info, infoHash } = makeInfo(2000)
    const liar = await leechFrom(infoHash, tampered(info))
    const honest = await leechFrom(infoHash, info)
    t.after(() => { for (const w of [liar.leech, liar.seed, honest.leech, honest.seed]) w.destroy() })
    const bad: object[] = []
    // One request per peer at a time, so pieces really are spread over both.
    const fetcher = createMetadataFetcher({ infoHash, maxInFlightPerPeer: 1, onBadPeer: (w) => { bad.push(w); (w as Wire).destroy() } })
    if (order === 'honest first') {
      fetcher.add(honest.leech); fetcher.add(liar.leech)
    } else if (order === 'liar first') {
      fetcher.add(liar.leech); fetcher.add(honest.leech)
    } else {
      fetcher.add(liar.leech)
      while (bad.length === 0) await new Promise(resolve => setTimeout(resolve, 10))
      assert.deepEqual(bad, [liar.leech], 'a lone liar is caught')
      fetcher.add(honest.leech)
    }
    const got = await within(fetcher.metadata, 5000, 'metadata')
    assert.deepEqual(Buffer.from(got), Buffer.from(info))
    // With pieces spread over both, the liar is named once the truth is known.
    assert.deepEqual(bad, [liar.leech])
    assert.equal(fetcher.add(liar.leech), false, 'a reported peer is never used again')
  })
}

test('ut_metadata: a piece refused by every peer is asked for again later', { timeout: 10_000 }, async (t) => {
  const { info, infoHash } = makeInfo(2000)
  let calls = 0
  // Call 0 advertises metadata_size; call 1 is the first request (piece 0): refused once.
  const [leech, seed] = await wirePair(infoHash, w => w.use(utMetadata({ info: null })), w => w.use(utMetadata({ info: () => (calls++ === 1 ? null : info) })))
  t.after(() => { leech.destroy(); seed.destroy() })
  const rejects: number[] = []
  utMetadataOf(leech)!.on('reject', p => rejects.push(p))
  const fetcher = createMetadataFetcher({ infoHash, requestTimeoutMs: 100 })
  fetcher.add(leech)
  const got = await within(fetcher.metadata, 5000, 'metadata after a refusal')
  assert.deepEqual(Buffer.from(got), Buffer.from(info))
  assert.deepEqual(rejects, [0])
})

test('ut_metadata: hostile requests get reject or nothing, and the server keeps serving', { timeout: 10_000 }, async (t) => {
  const { info, infoHash } = makeInfo(2000)
  const { leech, seed } = await leechFrom(infoHash, info)
  t.after(() => { leech.destroy(); seed.destroy() })
  const violations: string[] = []
  utMetadataOf(seed)!.on('violation', r => violations.push(r))
  const rejects: number[] = []
  utMetadataOf(leech)!.on('reject', p => rejects.push(p))
  const hostile = [
    'd8:msg_typei0e5:piecei-1ee',                 // negative
    'd8:msg_typei0e5:piecei3ee',                  // one past the end
    'd8:msg_typei0e5:piecei1099511627776ee',      // huge
    'd8:msg_typei0e5:piece3:abce',                // not an integer
    'd8:msg_typei0ee',                            // no piece
    'd8:msg_typei0e5:piecei99999999999999999999ee', // beyond safe integers
    'i42e', 'garbage', '', 'd8:msg_type',         // not a dictionary / truncated
    'd1:x' + 'l'.repeat(5000) + 'e'.repeat(5000) + 'e', // deep nesting
    'd8:msg_typei7e5:piecei0ee'                   // unknown type: ignored
  ]
  for (const h of hostile) leech.extended('ut_metadata', enc(h))
  // Then an honest request: its answer arrives after the answers to the hostile ones.
  const fetcher = createMetadataFetcher({ infoHash })
  fetcher.add(leech)
  const got = await within(fetcher.metadata, 5000, 'metadata after hostile requests')
  assert.deepEqual(Buffer.from(got), Buffer.from(info))
  assert.deepEqual(rejects, [-1, 3, 1099511627776])
  assert.equal(violations.length, 8, violations.join('; '))
  assert.equal(seed.destroyed, false)
})

test('ut_metadata: hostile data messages and metadata sizes are ignored', { timeout: 10_000 }, async (t) => {
  const { info, infoHash } = makeInfo(2000)
  // A peer claiming an absurd metadata_size is not a source.
  for (const size of [-1, 0, 2 ** 40, 'x']) {
    const [a, b] = await wirePair(infoHash, w => w.use(utMetadata()), w => { w.use(utMetadata()); w.extendedHandshake['metadata_size'] = size })
    assert.equal(utMetadataOf(a)!.peerMetadataSize, null, `metadata_size ${String(size)}`)
    a.destroy(); b.destroy()
  }
  // A peer that answers requests with malformed data.
  const [l2, s2] = await wirePair(infoHash, w => w.use(utMetadata({ info: null })), w => {
    w.use(utMetadata({ info: null }))
    w.extendedHandshake['metadata_size'] = info.length
  })
  t.after(() => { l2.destroy(); s2.destroy() })
  const ext = utMetadataOf(l2) as UtMetadata
  const violations: string[] = []
  ext.on('violation', r => violations.push(r))
  const junk = [
    Buffer.concat([Buffer.from(`d8:msg_typei1e5:piecei999e10:total_sizei${info.length}ee`), Buffer.alloc(16384)]),
    Buffer.concat([Buffer.from(`d8:msg_typei1e5:piecei-1e10:total_sizei${info.length}ee`), Buffer.alloc(16384)]),
    Buffer.concat([Buffer.from(`d8:msg_typei1e5:piecei0e10:total_sizei${info.length}ee`), Buffer.alloc(100)]),
    Buffer.concat([Buffer.from('d8:msg_typei1e5:piecei0e10:total_sizei5ee'), Buffer.alloc(16384)]),
    Buffer.from('d8:msg_typei1e5:piecei0e10:total_size')
  ]
  const fetcher = createMetadataFetcher({ infoHash })
  fetcher.add(l2)
  // The "seed" answers every request with junk.
  let answered = 0
  s2.on('extended', (name: string) => {
    if (name !== 'ut_metadata') return
    for (const j of junk) s2.extended('ut_metadata', j)
    answered++
  })
  while (answered < 3) await once(s2, 'extended')
  await new Promise(resolve => setImmediate(resolve))
  assert.ok(violations.length >= junk.length, violations.join('; '))
  let settled = false
  fetcher.metadata.then(() => { settled = true }, () => {})
  await new Promise(resolve => setTimeout(resolve, 20))
  assert.equal(settled, false, 'junk never completes the metadata')
  fetcher.destroy()
  await assert.rejects(fetcher.metadata)
})
