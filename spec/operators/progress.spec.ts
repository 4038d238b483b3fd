import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { newTorrentCreated, type Feedback } from '../../lib/messages.ts'
import { forTorrent } from '../../operators/forTorrent.ts'
import { progress } from '../../operators/progress.ts'
import { collect, timed, update } from './helpers.ts'

test('progress emits fractionDone once per change', () => {
  const msgs: Feedback[] = [
    newTorrentCreated('a', '/d'),
    update('a', { fractionDone: 0.5, activity: 'checking' }),
    update('a', { fractionDone: 1, activity: 'checking' }),
    update('a', { fractionDone: 0 }),
    update('a', { fractionDone: 0 }),
    update('a', { fractionDone: 0.25 }),
    update('a', { fractionDone: 0.25 }),
    update('a', { fractionDone: 1 })
  ]
  assert.deepEqual(collect(progress(timed(msgs.map((m, i) => [i, m] as const)))).values, [0, 0.25, 1])
})

/**
 * A download without hash failures: verified pieces only grow. Updates of
 * other torrents are interleaved to check forTorrent + progress together.
 */
const download = fc
  .record({
    pieces: fc.integer({ min: 1, max: 200 }),
    steps: fc.array(fc.integer({ min: 0, max: 10 }), { maxLength: 40 }),
    noise: fc.array(fc.record({ at: fc.nat(50), f: fc.double({ min: 0, max: 1, noNaN: true }) }), { maxLength: 20 })
  })
  .map(({ pieces, steps, noise }) => {
    let done = 0
    const mine = steps.map((s, i) => {
      done = Math.min(pieces, done + s)
      return [i * 2, update('a', { piecesDone: done, piecesTotal: pieces, fractionDone: done / pieces })] as const
    })
    const others = noise.map(({ at, f }) => [at * 2 + 1, update('b', { fractionDone: f })] as const)
    return [...mine, ...others]
  })

test('property: progress of one torrent is monotone when no piece fails its hash check', () => {
  fc.assert(
    fc.property(download, (events) => {
      const out = collect(progress(forTorrent('a', timed(events)))).values
      for (let i = 1; i < out.length; i++) assert.ok(out[i]! > out[i - 1]!, `not increasing at ${i}: ${out}`)
      assert.ok(out.every((f) => f >= 0 && f <= 1))
    }),
    { numRuns: 300 }
  )
})
