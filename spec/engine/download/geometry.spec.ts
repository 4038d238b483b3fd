import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PieceGeometry } from '../../../lib/engine/download/geometry.ts'

test('geometry: short last piece and block, and refused layouts', () => {
  const g = new PieceGeometry({ pieceCount: 3, pieceLength: 32768, length: 70000 })
  assert.equal(g.pieceSize(2), 70000 - 65536)
  assert.equal(g.blocksOf(2), 1)
  assert.deepEqual(g.blockRequest(2, 0), { piece: 2, offset: 0, length: 4464 })
  assert.throws(() => g.pieceSize(3), RangeError)
  assert.throws(() => new PieceGeometry({ pieceCount: 2, pieceLength: 32768, length: 70000 }), /piece count 2 does not match/)
  assert.throws(() => new PieceGeometry({ pieceCount: 1, pieceLength: 0, length: 1 }), RangeError)
  assert.throws(() => new PieceGeometry({ pieceCount: 1, pieceLength: 16, length: 1, blockSize: 1.5 }), RangeError)
})
