import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { never, merge } from '@most/core'
import { closeAfter } from '../../operators/closeAfter.ts'
import { collect, timed, update } from './helpers.ts'

test('closeAfter({ seconds }) closes T seconds after completion, on a timer', () => {
  const feedback = merge(
    timed([
      [0, update('a', { fractionDone: 0.5 })],
      [1000, update('a', { fractionDone: 1, activity: 'seeding' })],
      [2000, update('a', { fractionDone: 1, activity: 'seeding' })],
      [2500, update('b', { fractionDone: 1, activity: 'seeding' })]
    ]),
    never()
  )
  const out = collect(closeAfter({ seconds: 10 }, feedback))
  assert.deepEqual(
    out.events.map((e) => [e.t, e.value.type, e.value.torrentid]),
    [
      [11000, 'CloseTorrent', 'a'],
      [12500, 'CloseTorrent', 'b']
    ]
  )
})

test('closeAfter({ ratio }) closes once upTotal/downTotal reaches R, once', () => {
  const out = collect(
    closeAfter({ ratio: 1.5 })(
      timed([
        [0, update('a', { fractionDone: 0.5, downTotal: 50, upTotal: 200 })], // not complete yet
        [1, update('a', { fractionDone: 1, downTotal: 100, upTotal: 100 })],
        [2, update('a', { fractionDone: 1, downTotal: 100, upTotal: 149 })],
        [3, update('a', { fractionDone: 1, downTotal: 100, upTotal: 150 })],
        [4, update('a', { fractionDone: 1, downTotal: 100, upTotal: 300 })]
      ])
    )
  )
  assert.deepEqual(
    out.events.map((e) => [e.t, e.value.torrentid]),
    [[3, 'a']]
  )
})

test('closeAfter: a torrent that downloaded nothing has no ratio; seconds still apply', () => {
  const out = collect(
    closeAfter(
      { ratio: 1, seconds: 5 },
      merge(timed([[0, update('s', { activity: 'seeding', fractionDone: 1, upTotal: 1e9 })]]), never())
    )
  )
  assert.deepEqual(
    out.events.map((e) => [e.t, e.value.torrentid]),
    [[5000, 's']]
  )
})

test('closeAfter drops its timer when the torrent fails or the feedback ends', () => {
  const failed = collect(
    closeAfter(
      { seconds: 5 },
      merge(
        timed([
          [0, update('a', { activity: 'seeding', fractionDone: 1 })],
          [1000, update('a', { activity: 'error: disk gone' })]
        ]),
        never()
      )
    )
  )
  assert.deepEqual(failed.values, [])
  const ended = collect(closeAfter({ seconds: 5 }, timed([[0, update('a', { activity: 'seeding', fractionDone: 1 })]])))
  assert.deepEqual(ended.values, [])
  assert.equal(ended.ended, 0)
})

test('property: closeAfter closes each torrent at most once', () => {
  const arb = fc.array(
    fc.record({
      t: fc.nat(100),
      id: fc.constantFrom('a', 'b', 'c'),
      f: fc.constantFrom(0.5, 1),
      up: fc.nat(500),
      down: fc.nat(200)
    }),
    { maxLength: 40 }
  )
  fc.assert(
    fc.property(arb, fc.option(fc.integer({ min: 0, max: 3 })), fc.option(fc.integer({ min: 0, max: 60 })), (evs, ratio, seconds) => {
      const limits = { ...(ratio === null ? {} : { ratio }), ...(seconds === null ? {} : { seconds }) }
      const feedback = merge(
        timed(evs.map((e) => [e.t * 1000, update(e.id, { fractionDone: e.f, upTotal: e.up, downTotal: e.down })] as const)),
        never()
      )
      const ids = collect(closeAfter(limits, feedback)).values.map((c) => c.torrentid)
      assert.equal(new Set(ids).size, ids.length)
      const completed = new Set<string>(evs.filter((e) => e.f === 1).map((e) => e.id))
      assert.ok(ids.every((id) => completed.has(id)))
      if (seconds !== null) assert.deepEqual(new Set(ids), completed)
    }),
    { numRuns: 300 }
  )
})
