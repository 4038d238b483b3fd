import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { FileCompletion } from '../../../lib/engine/download/file-completion.ts'
import type { FileSpan } from '../../../lib/engine/download/priorities.ts'

/** Files laid end to end. */
function layout(files: ReadonlyArray<{ length: number; pad: boolean }>): FileSpan[] {
  let offset = 0
  return files.map((f) => {
    const span = { offset, length: f.length, pad: f.pad }
    offset += f.length
    return span
  })
}

/** A piece state the test sets by hand, like the picker's. */
class Pieces {
  readonly set = new Set<number>()
  have(p: number): boolean {
    return this.set.has(p)
  }
  haveCount(): number {
    return this.set.size
  }
}

/** The model: a file is complete when every piece it overlaps is verified (an empty file always is). */
function model(files: readonly FileSpan[], pieceLength: number, have: (p: number) => boolean): number[] {
  const out: number[] = []
  let user = 0
  for (const f of files) {
    if (f.pad) continue
    let ok = true
    if (f.length > 0) for (let p = Math.floor(f.offset / pieceLength); p * pieceLength < f.offset + f.length; p++) if (!have(p)) ok = false
    if (ok) out.push(user)
    user++
  }
  return out
}

test('a piece completes the files it was the last missing piece of; pad files never appear; empty files are complete from the start', () => {
  // pieces of 10: a [0,15) pad [15,20) b [20,20) c [20,45)
  const files = layout([
    { length: 15, pad: false },
    { length: 5, pad: true },
    { length: 0, pad: false },
    { length: 25, pad: false },
  ])
  const pieces = new Pieces()
  const fc_ = new FileCompletion({ files, pieceLength: 10, pieceCount: 5 }, pieces)
  assert.deepEqual(fc_.complete(), [1]) // the empty file (user index 1: the pad is not counted)
  pieces.set.add(1)
  assert.deepEqual(fc_.verified(1), [])
  pieces.set.add(0)
  assert.deepEqual(fc_.verified(0), [0])
  for (const p of [2, 3]) {
    pieces.set.add(p)
    assert.deepEqual(fc_.verified(p), [])
  }
  pieces.set.add(4)
  assert.deepEqual(fc_.verified(4), [2])
  assert.deepEqual(fc_.complete(), [0, 1, 2])
  assert.equal(fc_.isComplete(2), true)
  assert.deepEqual(fc_.verified(4), [], 'a piece verified twice completes nothing twice')
  assert.deepEqual(fc_.verified(99), [], 'a piece past the end is ignored')
})

test('property: against the model, under any verification order and pieces set in bulk (check, resume) without a call', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ length: fc.integer({ min: 0, max: 70 }), pad: fc.boolean() }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 16 }),
      fc.infiniteStream(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 9 }))),
      (spec, pieceLength, steps) => {
        const files = layout(spec)
        const total = files.reduce((n, f) => n + f.length, 0)
        const pieceCount = Math.ceil(total / pieceLength)
        const pieces = new Pieces()
        const c = new FileCompletion({ files, pieceLength, pieceCount }, pieces)
        const have = (p: number) => pieces.have(p)
        let before = model(files, pieceLength, have)
        assert.deepEqual(c.complete(), before)
        const order = [...Array(pieceCount).keys()]
        const it = steps[Symbol.iterator]()
        // shuffle the order with the stream's numbers
        for (let i = order.length - 1; i > 0; i--) {
          const j = it.next().value![0] % (i + 1)
          ;[order[i], order[j]] = [order[j]!, order[i]!]
        }
        for (const p of order) {
          const [, kind] = it.next().value!
          pieces.set.add(p)
          if (kind === 0) continue // set in bulk: no verified() call
          const done = c.verified(p)
          const after = model(files, pieceLength, have)
          const fresh = after.filter((f) => !before.includes(f))
          // every file completed since the last call, and only those (bulk pieces included)
          assert.deepEqual(done, fresh)
          before = after
          if (kind === 1) assert.deepEqual(c.complete(), after)
        }
        assert.deepEqual(c.complete(), model(files, pieceLength, have))
      },
    ),
  )
})
