/**
 * The answers a torrent gives to hash requests: piece-layer ranges from its
 * layers, leaf ranges from the bytes of a piece it has, each proved up to the
 * file's root; rejects for a piece it lacks, an unknown root, a range across
 * pieces, a range outside the tree.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { hashServer } from '../../../lib/engine/torrent/hash-server.ts'
import { proofProblem, treeHeight, type HashRequest } from '../../../lib/engine/metainfo/merkle-proof.ts'
import { LEAF_SIZE } from '../../../lib/engine/metainfo/merkle.ts'
import { v2TorrentOf } from '../../support/v2-meta.ts'
import type { V2File } from '../../../lib/engine/contracts.ts'

const PIECE = 4 * LEAF_SIZE

test('piece-layer and leaf ranges are answered and verify against the root; what we lack is rejected', async () => {
  const t = v2TorrentOf([new Uint8Array(randomBytes(PIECE * 6 + 500)), new Uint8Array(randomBytes(3 * LEAF_SIZE + 1))], PIECE)
  const have = new Set([0, 2, 7])
  let reads = 0
  const serve = hashServer(t.meta, (p) => { reads++; return have.has(p) ? Promise.resolve(t.piece(p)) : null })!
  const [big, small] = t.meta.v2!.files as [V2File, V2File]
  const check = async (r: HashRequest, length: number, root: Uint8Array): Promise<void> => {
    const a = await serve(r)
    assert.ok(a !== null, `no answer to ${JSON.stringify({ ...r, root: undefined })}`)
    const trusted = (layer: number, index: number) => layer === treeHeight(length) && index === 0 ? root : null
    assert.equal(proofProblem(r, a.slice(0, r.length), a.slice(r.length), length, trusted), null)
  }
  const h = treeHeight(big.length) // 32 leaves padded: height 5, piece layer 2
  await check({ root: big.root!, base: 2, index: 0, length: 8, proofLayers: h - 3 }, big.length, big.root!)
  await check({ root: big.root!, base: 2, index: 4, length: 2, proofLayers: h - 3 }, big.length, big.root!)
  assert.equal(reads, 0, 'the piece layer needs no disk read')
  await check({ root: big.root!, base: 0, index: 8, length: 4, proofLayers: h - 1 }, big.length, big.root!)
  await check({ root: big.root!, base: 1, index: 5, length: 1, proofLayers: h - 2 }, big.length, big.root!)
  // The small file (one piece, piece 7): its leaves from its piece.
  await check({ root: small.root!, base: 0, index: 0, length: 4, proofLayers: treeHeight(small.length) - 1 }, small.length, small.root!)
  // A piece we lack, a range across pieces, an unknown root, a range outside the tree.
  assert.equal(await serve({ root: big.root!, base: 0, index: 4, length: 4, proofLayers: 0 }), null)
  assert.equal(await serve({ root: big.root!, base: 0, index: 0, length: 8, proofLayers: 0 }), null)
  assert.equal(await serve({ root: new Uint8Array(32).fill(9), base: 2, index: 0, length: 2, proofLayers: 0 }), null)
  assert.equal(await serve({ root: big.root!, base: 2, index: 8, length: 8, proofLayers: 0 }), null)
  assert.equal(await serve({ root: big.root!, base: 5, index: 0, length: 1, proofLayers: 0 }), null)
  // Without a piece reader, leaves are rejected.
  assert.equal(await hashServer(t.meta)!({ root: big.root!, base: 0, index: 0, length: 4, proofLayers: 1 }), null)
  assert.equal(hashServer({ pieceLength: PIECE }), null)
})
