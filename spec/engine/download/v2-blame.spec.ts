/**
 * Block-level blame of v2 pieces: the leaf request of a piece, its answer
 * proved against the piece hash (a flipped bit fails), the blocks that differ,
 * and SmartBan striking the liar of a shared failure at once (the honest
 * sender never), with nobody struck twice when the piece passes later.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { V2File } from '../../../lib/engine/contracts.ts'
import { fileRoot, leafHashes, pieceLayer, splitHashes, LEAF_SIZE } from '../../../lib/engine/metainfo/merkle.ts'
import { leafRequest, leavesProblem, lyingBlocks, pieceLeaves } from '../../../lib/engine/download/v2-blame.ts'
import { SmartBan } from '../../../lib/engine/download/smart-ban.ts'
import type { PieceAttempt } from '../../../lib/engine/download/assembly.ts'

const PIECE = 4 * LEAF_SIZE

const fileOf = (length: number, firstPiece = 0) => {
  const data = new Uint8Array(randomBytes(length))
  const leaves = leafHashes(data)
  const root = fileRoot(leaves)
  const file: V2File = { path: ['t', 'f'], length, offset: firstPiece * PIECE, root, firstPiece, pieceCount: Math.ceil(length / PIECE) }
  return { data, leaves, root, file, pieceHashes: length > PIECE ? splitHashes(pieceLayer(leaves, PIECE)) : [root] }
}

test('the leaf request of a piece names its leaves and proves them up to the piece hash', () => {
  const f = fileOf(PIECE * 5 + 3000, 10)
  const r = leafRequest(f.file, 12, PIECE)
  assert.deepEqual(r && { ...r, root: undefined }, { root: undefined, base: 0, index: 8, length: 4, proofLayers: 1 })
  assert.equal(leavesProblem(r!, f.leaves.slice(8, 12), [], f.file, f.pieceHashes[2]!), null)
  // The last piece: one real leaf, three pad leaves; the pad is in the answer too.
  const last = leafRequest(f.file, 15, PIECE)!
  const pads = Array.from({ length: 3 }, () => new Uint8Array(32))
  assert.equal(leavesProblem(last, [f.leaves[20]!, ...pads], [], f.file, f.pieceHashes[5]!), null)
  // A flipped bit in any leaf fails.
  for (let i = 0; i < 4; i++) {
    const bad = f.leaves.slice(8, 12).map((h) => h.slice())
    bad[i]![i * 3]! ^= 0x04
    assert.match(leavesProblem(r!, bad, [], f.file, f.pieceHashes[2]!) ?? '', /do not hash/)
  }
  // Against the wrong piece hash: fails too.
  assert.notEqual(leavesProblem(r!, f.leaves.slice(8, 12), [], f.file, f.pieceHashes[1]!), null)
})

test('a file of one piece proves its leaves up to its root; a piece of one leaf needs no leaves', () => {
  const f = fileOf(3 * LEAF_SIZE - 5)
  const r = leafRequest(f.file, 0, PIECE)!
  assert.equal(r.length, 4)
  assert.equal(r.proofLayers, 1)
  assert.equal(leavesProblem(r, [...f.leaves, new Uint8Array(32)], [], f.file, f.root), null)
  assert.equal(leafRequest(fileOf(100).file, 0, PIECE), null)
  assert.equal(leafRequest(fileOf(3 * LEAF_SIZE).file, 0, LEAF_SIZE), null)
})

test('lying blocks: exactly the blocks whose hash differs', () => {
  const f = fileOf(PIECE)
  const bad = f.data.slice()
  bad[LEAF_SIZE * 2 + 10]! ^= 1
  assert.deepEqual(lyingBlocks(pieceLeaves(bad, PIECE), f.leaves), [2])
  assert.deepEqual(lyingBlocks(pieceLeaves(f.data, PIECE), f.leaves), [])
  assert.deepEqual(lyingBlocks(pieceLeaves(f.data, PIECE), f.leaves.slice(0, 2)), [2, 3])
})

test('smart ban, v2: the liar of a shared failure is struck as soon as the true leaves arrive, and only once', async () => {
  const f = fileOf(PIECE)
  const bans: string[] = []
  const failed: number[] = []
  let truth: (leaves: readonly Uint8Array[] | null) => void = () => {}
  const ban = new SmartBan({
    banStrikes: 1,
    blockSize: LEAF_SIZE,
    picker: { failed: (p) => failed.push(p), restrict: () => {} },
    canRefetch: () => true,
    closed: () => false,
    onBan: (key) => bans.push(key),
    v2: { leaves: () => new Promise((resolve) => { truth = resolve }), bytes: () => PIECE }
  })
  ban.sender('honest:1', 'H')
  ban.sender('liar:1', 'L')
  const bad = f.data.slice()
  bad[LEAF_SIZE * 3]! ^= 0xff // block 3, from the liar
  const from = ['honest:1', 'liar:1', 'honest:1', 'liar:1']
  const attempt: PieceAttempt = { senders: new Map([['honest:1', 2 * LEAF_SIZE], ['liar:1', 2 * LEAF_SIZE]]), from, data: (use) => use(bad) }
  ban.failed(0, attempt, () => {})
  assert.deepEqual(failed, [0], 'the piece goes back at once, without waiting for the leaves')
  assert.deepEqual(bans, [])
  truth(f.leaves)
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(bans, ['L'])
  assert.equal(ban.strikesOf('H'), 0)
  assert.equal(ban.suspected(0), false, 'the attempt is settled')
  ban.passed(0, f.data)
  assert.equal(ban.strikesOf('L'), 1, 'not struck twice')
})

test('smart ban, v2: without true leaves the v1 path still names the liar when the piece passes', async () => {
  const f = fileOf(PIECE)
  const bans: string[] = []
  const ban = new SmartBan({
    banStrikes: 1,
    blockSize: LEAF_SIZE,
    picker: { failed: () => {}, restrict: () => {} },
    canRefetch: () => true,
    closed: () => false,
    onBan: (key) => bans.push(key),
    v2: { leaves: async () => null, bytes: () => PIECE }
  })
  ban.sender('honest:1', 'H')
  ban.sender('liar:1', 'L')
  const bad = f.data.slice()
  bad[5]! ^= 0xff // block 0, from the liar
  const attempt: PieceAttempt = { senders: new Map([['honest:1', 1], ['liar:1', 1]]), from: ['liar:1', 'honest:1', 'honest:1', 'honest:1'], data: (use) => use(bad) }
  ban.failed(0, attempt, () => {})
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(bans, [])
  assert.equal(ban.suspected(0), true)
  ban.passed(0, f.data)
  assert.deepEqual(bans, ['L'])
})
