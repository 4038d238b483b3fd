/**
 * Piece layers of a v2 torrent from peers, over real wires: the layers of
 * every file longer than a piece (one of more than 512 pieces, so two ranges)
 * arrive and verify; a liar's hashes fail their proof and it is reported;
 * a silent peer times out and another is asked; peers that reject are asked
 * again after the pause; peers without the v2 bit are never asked.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import { createHash, randomBytes } from 'node:crypto'
import type { Metainfo, V2File } from '../../../lib/engine/contracts.ts'
import { fileRoot, pieceLayer, LEAF_SIZE } from '../../../lib/engine/metainfo/merkle.ts'
import { LayerFetcher, needsPieceLayers } from '../../../lib/engine/torrent/layer-fetcher.ts'
import { hashServer, type HashAnswerFn } from '../../../lib/engine/torrent/hash-server.ts'
import { HashExchange } from '../../../lib/engine/wire/hash-exchange.ts'
import type { HashRequest } from '../../../lib/engine/metainfo/merkle-proof.ts'
import { withPieceLayers } from '../../../lib/engine/metainfo/v2-pieces.ts'
import { ManualClock } from '../../support/engine-fakes.ts'
import { silentV2Peer, wirePair } from '../../support/wire-pair.ts'

const PIECE = 2 * LEAF_SIZE
type V2Meta = Pick<Metainfo, 'pieceLength' | 'v2' | 'version'>

/** A v2 torrent of three files (5 pieces, 700 pieces, less than a piece) described by random leaf hashes. */
function torrent (): { full: V2Meta, bare: V2Meta } {
  const files: V2File[] = []
  const layers = new Map<string, Uint8Array>()
  let piece = 0
  for (const [name, length] of [['a', PIECE * 5 - 7], ['b', PIECE * 700 + 3], ['c', 1000]] as const) {
    const leaves = Array.from({ length: Math.ceil(length / LEAF_SIZE) }, () => new Uint8Array(createHash('sha256').update(randomBytes(8)).digest()))
    const root = fileRoot(leaves)
    const pieceCount = Math.ceil(length / PIECE)
    files.push({ path: ['t', name], length, offset: piece * PIECE, root, firstPiece: piece, pieceCount })
    if (length > PIECE) layers.set(Buffer.from(root).toString('hex'), pieceLayer(leaves, PIECE))
    piece += pieceCount
  }
  const v2 = { infoHash: '00'.repeat(32), infoHashBytes: new Uint8Array(32), files, pieceLayers: layers }
  return { full: { pieceLength: PIECE, version: 'v2', v2 }, bare: { pieceLength: PIECE, version: 'v2', v2: { ...v2, pieceLayers: new Map() } } }
}

/** Our exchange with a peer that serves `serve` (v2 bit on both sides). */
async function peer (serve: HashAnswerFn | null, v2 = true): Promise<HashExchange> {
  const { ours, theirs } = await wirePair({ ours: true, theirs: v2 })
  void new HashExchange(theirs, serve === null ? {} : { serve })
  return new HashExchange(ours, { timeoutMs: 150 })
}

test('every missing layer arrives from an honest v2 peer and matches the .torrent\'s', async () => {
  const { full, bare } = torrent()
  assert.equal(needsPieceLayers(bare), true)
  assert.equal(needsPieceLayers(full), false)
  const fetcher = new LayerFetcher({ meta: bare })
  fetcher.add(await peer(hashServer(full)))
  const layers = await fetcher.layers
  assert.equal(layers.size, 2)
  for (const [key, layer] of full.v2!.pieceLayers) assert.deepEqual(layers.get(key), layer)
  assert.match(fetcher.note(), /^3 of 3 hash ranges/)
  const merged = withPieceLayers({ ...(bare as Metainfo) }, layers)
  assert.ok(typeof merged !== 'string')
  assert.equal(needsPieceLayers(merged), false)
})

test('a liar is reported and closed; a silent peer times out; the honest one gives the layers', async () => {
  const { full, bare } = torrent()
  const honest = hashServer(full)!
  const lie = async (r: HashRequest): Promise<Uint8Array[] | null> => {
    const a = await honest(r)
    if (a === null) return null
    const bad = a.map((h) => h.slice())
    bad[0]![5]! ^= 0x20
    return bad
  }
  const bad: string[] = []
  const fetcher = new LayerFetcher({ meta: bare, onBadPeer: (_x, reason) => bad.push(reason) })
  const liar = await peer(lie)
  const errors: string[] = []
  liar.wire.on('protocol-error', (r: string) => errors.push(r))
  fetcher.add(liar)
  fetcher.add(new HashExchange(await silentV2Peer(), { timeoutMs: 150 }))
  await waitFor(() => bad.length > 0)
  assert.match(bad[0] ?? '', /hashes for "t\/[ab]" that do not verify against its pieces root/)
  assert.equal(errors.length, 1)
  assert.match(fetcher.note(), /a peer sent hashes/)
  await waitFor(() => /unanswered/.test(fetcher.note()))
  fetcher.add(await peer(honest))
  const layers = await fetcher.layers
  for (const [key, layer] of full.v2!.pieceLayers) assert.deepEqual(layers.get(key), layer)
})

test('peers that reject are asked again after the pause; peers without the v2 bit never', async () => {
  const { full, bare } = torrent()
  const clock = new ManualClock()
  let serving = false
  const honest = hashServer(full)!
  const fetcher = new LayerFetcher({ meta: bare, now: () => clock.now(), retryMs: 10_000 })
  let v1Asked = 0
  const v1 = await peer(() => { v1Asked++; return null }, false)
  fetcher.add(v1)
  assert.match(fetcher.note(), /no connected peer speaks v2/)
  fetcher.add(await peer((r: HashRequest) => serving ? honest(r) : null))
  await waitFor(() => /rejected/.test(fetcher.note()))
  serving = true
  fetcher.tick() // too early: nothing is asked again
  clock.advance(10_000)
  fetcher.tick()
  const layers = await fetcher.layers
  assert.equal(layers.size, 2)
  assert.equal(v1Asked, 0)
})

test('destroy rejects the pending fetch', async () => {
  const { bare } = torrent()
  const fetcher = new LayerFetcher({ meta: bare })
  fetcher.destroy('torrent closed')
  await assert.rejects(fetcher.layers, /torrent closed/)
})

test('a layer that does not hash to its root is refused when merged', () => {
  const { full, bare } = torrent()
  const key = [...full.v2!.pieceLayers.keys()][0] as string
  const wrong = new Map([[key, new Uint8Array(full.v2!.pieceLayers.get(key)!.length)]])
  assert.match(withPieceLayers(bare as Metainfo, wrong) as string, /does not hash to its pieces root/)
})

async function waitFor (cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setTimeout(resolve, 5))
}
