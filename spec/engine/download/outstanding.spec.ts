import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Outstanding } from '../../../lib/engine/download/outstanding.ts'

test('outstanding: per-peer requests and per-piece counts stay in step through link, unlink and release', () => {
  const o = new Outstanding()
  const mine = o.of('a')
  o.link('a', mine, 0, { piece: 0, offset: 0, length: 1 })
  o.link('a', mine, 1, { piece: 0, offset: 1, length: 1 })
  o.link('a', mine, 8, { piece: 1, offset: 0, length: 1 })
  assert.deepEqual([...o.piecesOf('a')!], [[0, 2], [1, 1]])
  assert.equal(o.unlink('a', 1, 0), true)
  assert.equal(o.unlink('a', 1, 0), false, 'twice: nothing to forget')
  assert.equal(o.unlink('b', 0, 0), false)
  assert.deepEqual([...o.piecesOf('a')!], [[0, 1], [1, 1]])
  assert.equal(o.requestedBy('a').length, 2)
  assert.equal(o.release('a')?.size, 2)
  assert.deepEqual(o.requestedBy('a'), [])
  assert.equal(o.piecesOf('a'), undefined)
})
