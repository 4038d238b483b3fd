import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RarityBuckets } from '../../../lib/engine/download/rarity.ts'

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b)

test('rarity: fresh pieces rarest first, unknown availability last; removed pieces are skipped; counts never below 0', () => {
  const r = new RarityBuckets(5)
  for (let p = 0; p < 5; p++) r.insert(p)
  r.change(0, 3)
  r.change(1, 1)
  r.change(2, 2)
  r.change(4, -1)
  assert.equal(r.of(4), 0)
  const order = [...r.rarestFirst(() => 0)]
  assert.deepEqual(order.slice(0, 3), [1, 2, 0])
  assert.deepEqual(sorted(order.slice(3)), [3, 4], 'availability 0 last')
  r.remove(1)
  r.change(1, 5) // not fresh: counted, not listed
  assert.equal(r.of(1), 6)
  assert.deepEqual([...r.rarestFirst(() => 0)].slice(0, 2), [2, 0])
  r.insert(1)
  assert.deepEqual([...r.rarestFirst(() => 0)].slice(0, 3), [2, 0, 1], 'back in its bucket (6), after 2 and 0')
})

test('rarity: the random start rotates within a bucket', () => {
  const r = new RarityBuckets(4)
  for (let p = 0; p < 4; p++) r.insert(p)
  assert.deepEqual([...r.rarestFirst(() => 0.5)], [2, 3, 0, 1])
})

test('has: a piece is fresh while it sits in a bucket', () => {
  const r = new RarityBuckets(3)
  assert.equal(r.has(1), false)
  r.insert(1)
  r.change(1, 2)
  assert.equal(r.has(1), true)
  r.remove(1)
  assert.equal(r.has(1), false)
})
