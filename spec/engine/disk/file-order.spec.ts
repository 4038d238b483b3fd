import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { fileOrder, firstEndingAfter } from '../../../lib/engine/disk/file-order.ts'
import type { FileEntry } from '../../../lib/engine/contracts.ts'

/** Files of the given lengths laid end to end (zero-length ones included), listed in a shuffled order. */
const layout = (lengths: number[], perm: number[]): FileEntry[] => {
  let at = 0
  const placed = lengths.map((length, i) => {
    const f: FileEntry = { path: [`f${i}`], length, offset: at, pad: false }
    at += length
    return f
  })
  return perm.map((i) => placed[i]!)
}

const arb = fc.array(fc.nat(50), { minLength: 1, maxLength: 12 }).chain((lengths) =>
  fc.tuple(fc.constant(lengths), fc.shuffledSubarray([...lengths.keys()], { minLength: lengths.length }), fc.nat(lengths.reduce((a, b) => a + b, 0) + 5))
)

test('fileOrder: the files with bytes, by offset', () => {
  fc.assert(
    fc.property(arb, ([lengths, perm]) => {
      const files = layout(lengths, perm)
      const order = fileOrder(files)
      assert.deepEqual(order.map((i) => files[i]!.length > 0), order.map(() => true))
      assert.equal(order.length, files.filter((f) => f.length > 0).length)
      for (let k = 1; k < order.length; k++) assert.ok(files[order[k - 1]!]!.offset < files[order[k]!]!.offset)
    })
  )
})

test('firstEndingAfter: the first file (by offset) whose end is past the offset, as a linear scan finds it', () => {
  fc.assert(
    fc.property(arb, ([lengths, perm, offset]) => {
      const files = layout(lengths, perm)
      const order = fileOrder(files)
      const linear = order.findIndex((i) => files[i]!.offset + files[i]!.length > offset)
      assert.equal(firstEndingAfter(files, order, offset), linear === -1 ? Math.max(0, order.length - 1) : linear)
    })
  )
})
