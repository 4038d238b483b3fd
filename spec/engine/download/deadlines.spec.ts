import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DeadlineWindow } from '../../../lib/engine/download/deadlines.ts'

const P = 1000 // piece length in the tests

function fixture(opts: Partial<{ pieceCount: number; lookaheadMs: number; minPieces: number; maxPieces: number; idleMs: number }> = {}) {
  let t = 0
  const win = new DeadlineWindow({ pieceLength: P, pieceCount: opts.pieceCount ?? 100, now: () => t, ...opts })
  return { win, advance: (ms: number) => (t += ms), now: () => t }
}
const none = () => false

test('the window is the missing pieces ahead of the read position, sized by the rate', () => {
  const { win } = fixture({ lookaheadMs: 4000 })
  win.open('a', 2500, 100 * P)
  // 1000 B/s * 4 s = 4 pieces
  assert.deepEqual(win.critical(1000, none).map((d) => d.piece), [2, 3, 4, 5])
  // deadlines one piece-time apart: 1 s per piece at 1000 B/s
  assert.deepEqual(win.critical(1000, none).map((d) => d.deadline), [0, 1000, 2000, 3000])
  // a faster download: a wider window
  assert.equal(win.critical(4000, none).length, 16)
  // nothing measured yet: the minimum
  assert.equal(win.critical(0, none).length, 2)
  // capped
  assert.equal(win.critical(1e12, none).length, 64)
})

test('verified pieces are skipped but still count towards the window', () => {
  const { win } = fixture({ lookaheadMs: 4000 })
  win.open('a', 0, 100 * P)
  assert.deepEqual(win.critical(1000, (p) => p === 1).map((d) => d.piece), [0, 2, 3])
})

test('a seek moves the window; the end of the range bounds it', () => {
  const { win } = fixture({ lookaheadMs: 4000 })
  win.open('a', 0, 100 * P)
  win.move('a', 80 * P + 1)
  assert.deepEqual(win.critical(1000, none).map((d) => d.piece), [80, 81, 82, 83])
  win.open('b', 98 * P, 99 * P + 1) // ends one byte into piece 99
  // earliest deadline first, then piece: 80 and 98 are both due now
  assert.deepEqual(win.critical(1000, none).map((d) => d.piece), [80, 98, 81, 99, 82, 83])
})

test('readers that close or go idle leave no window', () => {
  const { win, advance } = fixture({ idleMs: 5000 })
  win.open('a', 0, 10 * P)
  win.open('b', 5 * P, 10 * P)
  assert.equal(win.active(), true)
  win.close('a')
  assert.equal(win.size(), 1)
  assert.deepEqual(win.critical(0, none).map((d) => d.piece), [5, 6])
  advance(5000)
  assert.equal(win.active(), false)
  assert.deepEqual(win.critical(1000, none), [])
  win.move('b', 6 * P) // reading again
  assert.equal(win.active(), true)
  win.move('b', 10 * P) // at the end
  assert.equal(win.active(), false)
  win.move('nobody', 0) // ignored
})

test('bad input is refused', () => {
  const { win } = fixture()
  assert.throws(() => win.open('a', -1, 5), /bad range/)
  assert.throws(() => win.open('a', 5, 4), /bad range/)
  assert.throws(() => new DeadlineWindow({ pieceLength: 0, pieceCount: 1, now: () => 0 }), /bad piece length/)
})

test('property: every critical piece is missing, inside some reader window, listed once, deadlines sorted', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.array(fc.tuple(fc.nat({ max: 70 * P }), fc.nat({ max: 70 * P })), { minLength: 0, maxLength: 6 }),
      fc.array(fc.nat({ max: 59 }), { maxLength: 30 }),
      fc.integer({ min: 0, max: 50_000 }),
      (pieceCount, ranges, haveList, rate) => {
        const { win } = fixture({ pieceCount })
        const have = new Set(haveList)
        const size = win.windowPieces(rate)
        const windows: Array<[number, number]> = []
        ranges.forEach(([a, b], i) => {
          const start = Math.min(a, b)
          const end = Math.max(a, b)
          win.open(String(i), start, end)
          const last = Math.min(pieceCount - 1, Math.floor((Math.min(end, pieceCount * P) - 1) / P))
          if (start < Math.min(end, pieceCount * P)) windows.push([Math.floor(start / P), Math.min(last, Math.floor(start / P) + size - 1)])
        })
        const crit = win.critical(rate, (p) => have.has(p))
        const pieces = crit.map((d) => d.piece)
        assert.equal(new Set(pieces).size, pieces.length)
        for (let i = 1; i < crit.length; i++) assert.ok(crit[i - 1]!.deadline <= crit[i]!.deadline)
        const expected = new Set<number>()
        for (const [a, b] of windows) for (let p = a; p <= b; p++) if (!have.has(p)) expected.add(p)
        assert.deepEqual([...pieces].sort((x, y) => x - y), [...expected].sort((x, y) => x - y))
      },
    ),
    { numRuns: 300 },
  )
})
