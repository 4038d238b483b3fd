/**
 * Ranges of a file's merkle tree and their proofs: what LayerTree answers
 * verifies against the file's root for any range (fast-check), a flipped bit
 * anywhere fails, out-of-range requests are named, and the piece-layer
 * requests of a file rebuild its layer.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createHash, randomBytes } from 'node:crypto'
import { fileRoot, leafHashes, pieceLayer, LEAF_SIZE } from '../../../lib/engine/metainfo/merkle.ts'
import {
  answerFromLeaves, joinPieceLayer, LayerTree, pieceLayerIndex, pieceLayerRequests, pieceOfRange, proofProblem, rangeProblem, treeHeight, uncleCount, type HashRequest
} from '../../../lib/engine/metainfo/merkle-proof.ts'

const PIECE = 4 * LEAF_SIZE

/** Leaf hashes of a file of `leaves` leaves, random, without the bytes. */
const leavesOf = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(createHash('sha256').update(randomBytes(8)).digest()))

const fileOf = (leafCount: number) => {
  const leaves = leavesOf(leafCount)
  const length = (leafCount - 1) * LEAF_SIZE + 100
  return { leaves, length, root: fileRoot(leaves), layer: pieceLayer(leaves, PIECE) }
}

const rootOnly = (length: number, root: Uint8Array) => (layer: number, index: number) => layer === treeHeight(length) && index === 0 ? root : null

test('tree shape: height over the padded leaves, piece layer from the piece length', () => {
  assert.equal(treeHeight(1), 0)
  assert.equal(treeHeight(LEAF_SIZE + 1), 1)
  assert.equal(treeHeight(5 * LEAF_SIZE), 3)
  assert.equal(pieceLayerIndex(PIECE), 2)
})

test('every range LayerTree answers, with a proof to below the root, verifies against the root (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 5, max: 300 }), fc.nat(), fc.nat(), fc.nat(), (leafCount, a, b, c) => {
    const f = fileOf(leafCount)
    const tree = new LayerTree(f.layer, PIECE, f.length)
    assert.deepEqual(tree.root, f.root)
    const height = treeHeight(f.length)
    const base = 2 + (a % (height - 2))
    const width = 2 ** (height - base)
    const length = 2 ** (b % (Math.log2(width) + 1))
    const index = (c % (width / length)) * length
    const r: HashRequest = { root: f.root, base, index, length, proofLayers: height - base - 1 }
    assert.equal(rangeProblem(r, f.length), null)
    const answer = tree.answer(r)
    assert.ok(answer !== null)
    const nodes = answer.slice(0, length)
    const uncles = answer.slice(length)
    assert.equal(uncles.length, uncleCount(length, r.proofLayers))
    assert.equal(proofProblem(r, nodes, uncles, f.length, rootOnly(f.length, f.root)), null)
    // A flipped bit in any hash of the answer breaks the proof.
    const which = (a + b + c) % answer.length
    const bad = answer.map((h) => h.slice())
    const flipped = bad[which] as Uint8Array
    flipped[(a * 7) % 32]! ^= 1 << (c % 8)
    assert.notEqual(proofProblem(r, bad.slice(0, length), bad.slice(length), f.length, rootOnly(f.length, f.root)), null)
  }), { numRuns: 150 })
})

test('leaves verify against a known piece hash (the block-level check of a failed piece)', () => {
  const f = fileOf(40)
  const pieceHashes = Array.from({ length: f.layer.length / 32 }, (_, i) => f.layer.subarray(i * 32, i * 32 + 32))
  const r: HashRequest = { root: f.root, base: 0, index: 8, length: 4, proofLayers: 1 }
  const trusted = (layer: number, index: number) => layer === 2 ? pieceHashes[index] ?? null : null
  assert.equal(proofProblem(r, f.leaves.slice(8, 12), [], f.length, trusted), null)
  const wrong = f.leaves.slice(8, 12)
  wrong[1] = f.leaves[0] as Uint8Array
  assert.match(proofProblem(r, wrong, [], f.length, trusted) ?? '', /do not hash to the known node/)
  // Nothing known where the proof ends: not accepted.
  assert.match(proofProblem(r, f.leaves.slice(8, 12), [], f.length, () => null) ?? '', /no node is known/)
})

test('out-of-range requests are named; LayerTree rejects them and ranges below its piece layer', () => {
  const f = fileOf(40) // 64 leaves in the padded tree: height 6, piece layer 2 of 16 nodes
  const r = (o: Partial<HashRequest>): HashRequest => ({ root: f.root, base: 2, index: 0, length: 16, proofLayers: 3, ...o })
  assert.equal(rangeProblem(r({}), f.length), null)
  assert.match(rangeProblem(r({ base: 6 }), f.length) ?? '', /at or above the root/)
  assert.match(rangeProblem(r({ length: 3 }), f.length) ?? '', /not a power of two/)
  assert.match(rangeProblem(r({ length: 0 }), f.length) ?? '', /not a power of two/)
  assert.match(rangeProblem(r({ length: 4, index: 2 }), f.length) ?? '', /not a multiple/)
  assert.match(rangeProblem(r({ length: 4, index: 16 }), f.length) ?? '', /past the 16 of layer 2/)
  assert.match(rangeProblem(r({ proofLayers: 4 }), f.length) ?? '', /reach the root/)
  const tree = new LayerTree(f.layer, PIECE, f.length)
  assert.equal(tree.answer(r({ length: 4, index: 16 })), null)
  assert.equal(tree.answer(r({ base: 0, length: 4 })), null)
  assert.equal(tree.answer(r({ base: 3, length: 8, proofLayers: 2 }))?.length, 8)
  assert.throws(() => new LayerTree(new Uint8Array(32 * 17), PIECE, f.length), RangeError)
})

test('the piece-layer requests of a file rebuild its layer from the answers', () => {
  for (const pieces of [2, 3, 512, 513, 1300]) {
    const f = fileOf(pieces * 4 - 1)
    const tree = new LayerTree(f.layer, PIECE, f.length)
    const requests = pieceLayerRequests(f.root, f.length, PIECE)
    assert.equal(requests.length, Math.ceil(pieces / 512))
    const answers = requests.map((request) => {
      assert.equal(rangeProblem(request, f.length), null)
      const a = tree.answer(request)
      assert.ok(a !== null)
      const nodes = a.slice(0, request.length)
      assert.equal(proofProblem(request, nodes, a.slice(request.length), f.length, rootOnly(f.length, f.root)), null, `${pieces} pieces`)
      return { request, nodes }
    })
    assert.deepEqual(joinPieceLayer(answers, f.length, PIECE), f.layer)
  }
})

test('LayerTree agrees with hashes computed from file bytes', () => {
  const data = randomBytes(PIECE * 5 + 1234)
  const leaves = leafHashes(data)
  const layer = pieceLayer(leaves, PIECE)
  const tree = new LayerTree(layer, PIECE, data.length)
  assert.deepEqual(tree.root, fileRoot(leaves))
})

test('ranges below the piece layer are answered from one piece\'s leaves, proved up to the root (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 5, max: 200 }), fc.nat(), fc.nat(), fc.nat(), (leafCount, a, b, c) => {
    const f = fileOf(leafCount)
    const tree = new LayerTree(f.layer, PIECE, f.length)
    const height = treeHeight(f.length)
    const base = a % 2
    const length = 2 ** (b % (3 - base))
    const pieces = Math.ceil(leafCount / 4)
    const piece = c % pieces
    const index = piece * 2 ** (2 - base) + ((c >> 4) % (2 ** (2 - base) / length)) * length
    const r: HashRequest = { root: f.root, base, index, length, proofLayers: height - base - 1 }
    assert.equal(pieceOfRange(r, f.length, PIECE), piece)
    const answer = answerFromLeaves(r, f.leaves.slice(piece * 4, piece * 4 + 4), f.length, PIECE, tree)
    assert.ok(answer !== null)
    assert.equal(proofProblem(r, answer.slice(0, length), answer.slice(length), f.length, rootOnly(f.length, f.root)), null)
  }), { numRuns: 150 })
})

test('a range across pieces is not answered from leaves', () => {
  const f = fileOf(40)
  const r: HashRequest = { root: f.root, base: 0, index: 0, length: 8, proofLayers: 5 }
  assert.equal(pieceOfRange(r, f.length, PIECE), null)
  assert.equal(answerFromLeaves(r, f.leaves.slice(0, 4), f.length, PIECE, new LayerTree(f.layer, PIECE, f.length)), null)
})
