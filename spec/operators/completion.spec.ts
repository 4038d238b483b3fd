import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { never, startWith } from '@most/core'
import { newTorrentCreated, type Feedback } from '../../lib/messages.ts'
import { completion, TorrentFailedError } from '../../operators/completion.ts'
import { collect, timed, update } from './helpers.ts'

const seq = (msgs: Feedback[]) => timed(msgs.map((m, i) => [i, m] as const))

test('completion emits the completing update once and ends there', () => {
  const out = collect(
    completion(
      'a',
      seq([
        newTorrentCreated('a', '/d'),
        update('b', { fractionDone: 1 }),
        update('a', { fractionDone: 0.5 }),
        update('a', { fractionDone: 1, activity: 'seeding' }),
        update('a', { fractionDone: 1, activity: 'seeding' })
      ])
    )
  )
  assert.equal(out.values.length, 1)
  assert.equal(out.values[0]!.torrentid, 'a')
  assert.equal(out.ended, 3, 'ends at the completing update, not when the source ends')
})

test('completion counts activity "seeding" as complete', () => {
  assert.equal(collect(completion('a', seq([update('a', { activity: 'seeding', fractionDone: 0.99 })]))).values.length, 1)
})

test('completion ignores a check that reaches 100% (that fraction measures the check, not the data)', () => {
  const out = collect(
    completion(
      'a',
      seq([
        update('a', { activity: 'checking', fractionDone: 1 }),
        update('a', { activity: 'downloading', fractionDone: 0.4 }),
        update('a', { activity: 'downloading', fractionDone: 1 })
      ])
    )
  )
  assert.deepEqual(out.values.map((u) => u.statsdictionary.activity), ['downloading'])
})

test('completion lets go of a source that never ends', () => {
  const out = collect(completion('a', startWith(update('a', { fractionDone: 1 }), never())))
  assert.equal(out.values.length, 1)
  assert.equal(out.ended, 0)
})

test('completion fails when the torrent errors or shuts down first', () => {
  for (const activity of ['error: disk full', 'shut down']) {
    const out = collect(completion('a', seq([update('a', { fractionDone: 0.3 }), update('a', { activity })])))
    assert.equal(out.values.length, 0)
    assert.ok(out.error instanceof TorrentFailedError)
    assert.match(out.error.message, new RegExp(activity))
  }
})

test('completion ends without a value when the source ends first', () => {
  const out = collect(completion('a', seq([update('a', { fractionDone: 0.3 })])))
  assert.deepEqual(out.values, [])
  assert.equal(out.ended, 0)
})

const anyUpdate = fc
  .record({
    id: fc.constantFrom('a', 'b'),
    f: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
    activity: fc.constantFrom('downloading', 'seeding', 'checking', 'stalled')
  })
  .map(({ id, f, activity }) => update(id, { fractionDone: f, activity }))

test('property: completion emits at most once, and only for its torrent, then ends', () => {
  fc.assert(
    fc.property(fc.array(anyUpdate, { maxLength: 50 }), (msgs) => {
      const out = collect(completion('a', seq(msgs)))
      assert.ok(out.values.length <= 1)
      assert.ok(out.values.every((u) => u.torrentid === 'a'))
      const first = msgs.findIndex(
        (m) =>
          m.torrentid === 'a' &&
          (m.statsdictionary.activity === 'seeding' ||
            (m.statsdictionary.fractionDone >= 1 && m.statsdictionary.activity !== 'checking'))
      )
      assert.equal(out.values.length, first === -1 ? 0 : 1)
      if (first !== -1) assert.equal(out.values[0], msgs[first])
      assert.notEqual(out.ended, undefined)
    }),
    { numRuns: 500 }
  )
})
