import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FreshPieces } from '../../../lib/engine/stream/fresh-pieces.ts'

test('held pieces are read as views into their buffers; ranges outside them, and pieces not held, are not', () => {
  const fresh = new FreshPieces(100, 250)
  const a = Buffer.alloc(100, 1)
  const b = Buffer.alloc(100, 2)
  assert.equal(fresh.add(3, a), true)
  assert.equal(fresh.add(3, b), false, 'a piece is held once')
  const view = fresh.read(310, 20)!
  assert.equal(view.buffer, a.buffer, 'no copy')
  assert.equal(view.byteOffset, a.byteOffset + 10)
  assert.equal(view.length, 20)
  assert.equal(fresh.read(390, 20), null, 'a range that leaves the piece')
  assert.equal(fresh.read(400, 10), null, 'a piece not held')
  assert.equal(fresh.add(4, b), true)
  assert.equal(fresh.room(100), false)
  assert.equal(fresh.add(5, Buffer.alloc(100)), false, 'past the bound: not held')
  assert.deepEqual([fresh.size(), fresh.bytes()], [2, 200])
  fresh.keep((p) => p !== 3)
  assert.equal(fresh.has(3), false)
  assert.equal(fresh.read(310, 20), null)
  assert.deepEqual([fresh.size(), fresh.bytes()], [1, 100])
  assert.equal(fresh.add(5, Buffer.alloc(100)), true, 'room again')
  fresh.keep(() => false)
  assert.deepEqual([fresh.size(), fresh.bytes()], [0, 0])
})

test('a short last piece is held and read like the others', () => {
  const fresh = new FreshPieces(100)
  fresh.add(7, Buffer.from('the last piece'))
  assert.equal(Buffer.from(fresh.read(704, 4)!).toString(), 'last')
  assert.equal(fresh.read(710, 10), null)
})
