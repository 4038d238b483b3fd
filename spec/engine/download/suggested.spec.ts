import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { suggestedFirst } from '../../../lib/engine/download/suggested.ts'
import { PiecePicker } from '../../../lib/engine/download/picker.ts'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'

test('suggested pieces go first among equally rare ones, never ahead of rarer ones', () => {
  const avail = (p: number): number => (p === 5 ? 1 : p === 9 ? 0 : 2)
  assert.deepEqual([...suggestedFirst([5, 0, 1, 2, 3, 9], [2], avail, () => true)], [5, 2, 0, 1, 3, 9])
  // newest suggestion first (a repeat keeps its first place); one that is not fresh is left out; each once
  assert.deepEqual([...suggestedFirst([0, 1, 2, 3], [1, 3, 1, 7], () => 2, (p) => p !== 7)], [3, 1, 0, 2])
  // a suggested piece of the unknown-availability group goes first in that group
  const avail0 = (p: number): number => (p === 5 ? 1 : p === 9 || p === 8 ? 0 : 2)
  assert.deepEqual([...suggestedFirst([5, 0, 9, 8], [8], avail0, () => true)], [5, 0, 8, 9])
  assert.deepEqual([...suggestedFirst([4, 2], [], avail, () => true)], [4, 2])
})

test('property: the same pieces, each once; within each availability group the fresh suggestions lead', () => {
  fc.assert(fc.property(
    fc.uniqueArray(fc.nat(40), { maxLength: 30 }),
    fc.array(fc.nat(40), { maxLength: 8 }),
    fc.func(fc.nat(3)),
    (pieces, suggested, availOf) => {
      // RarityBuckets' order: grouped by availability
      const order = [...pieces].sort((a, b) => availOf(a) - availOf(b))
      const inOrder = new Set(order)
      const out = [...suggestedFirst(order, suggested, availOf, (p) => inOrder.has(p))]
      assert.deepEqual([...out].sort((a, b) => a - b), [...order].sort((a, b) => a - b))
      for (let i = 1; i < out.length; i++) assert.ok(availOf(out[i - 1]!) <= availOf(out[i]!))
      const wanted = new Set(suggested.filter((p) => inOrder.has(p)))
      for (let i = 1; i < out.length; i++) {
        if (availOf(out[i - 1]!) === availOf(out[i]!) && wanted.has(out[i]!)) assert.ok(wanted.has(out[i - 1]!), `${out}`)
      }
    }
  ))
})

test('picker: the first fresh piece asked of a peer is one it suggested, when it is as rare as the rest', () => {
  for (let trial = 0; trial < 20; trial++) {
    const picker = new PiecePicker({ pieceCount: 16, pieceLength: 32768, length: 16 * 32768, rng: Math.random })
    const all = new Bitfield(16)
    for (let p = 0; p < 16; p++) all.set(p)
    picker.addAvailability(all)
    const [first] = picker.pick({ id: 'a', has: () => true, suggested: [11] }, 1)
    assert.equal(first?.piece, 11)
  }
})

test('picker: a rarer piece still goes before a suggested one', () => {
  const picker = new PiecePicker({ pieceCount: 4, pieceLength: 16384, length: 4 * 16384, rng: () => 0 })
  const all = new Bitfield(4)
  for (let p = 0; p < 4; p++) all.set(p)
  const some = new Bitfield(4)
  some.set(1); some.set(2); some.set(3)
  picker.addAvailability(all)
  picker.addAvailability(some) // piece 0: one peer has it; 1..3: two peers
  const reqs = picker.pick({ id: 'a', has: () => true, suggested: [2] }, 2)
  assert.deepEqual(reqs.map((r) => r.piece), [0, 2])
})
