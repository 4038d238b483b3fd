import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  closeTorrent,
  newTorrentCreated,
  torrentAlreadyDownloading,
  torrentCommandRefused,
  torrentStartFail,
  type Feedback
} from '../../lib/messages.ts'
import { createdIds } from '../../operators/createdIds.ts'
import { forTorrent } from '../../operators/forTorrent.ts'
import { rates } from '../../operators/rates.ts'
import { statusUpdates } from '../../operators/statusUpdates.ts'
import { collect, timed, update } from './helpers.ts'

const mixed: Feedback[] = [
  newTorrentCreated('a', '/d'),
  update('a', { fractionDone: 0.1, downRate: 10, upRate: 1, downTotal: 100, upTotal: 5 }),
  torrentStartFail('bad'),
  update('b', { fractionDone: 0.5 }),
  torrentAlreadyDownloading('b'),
  torrentCommandRefused(closeTorrent('z'), 'not yours'),
  update('a', { fractionDone: 0.2 })
]
const stream = () => timed(mixed.map((m, i) => [i, m] as const))

test('statusUpdates keeps only status updates, in order', () => {
  const out = collect(statusUpdates(stream()))
  assert.deepEqual(
    out.values.map((u) => [u.torrentid, u.statsdictionary.fractionDone]),
    [
      ['a', 0.1],
      ['b', 0.5],
      ['a', 0.2]
    ]
  )
  assert.equal(out.ended, 6)
})

test('forTorrent keeps one torrent, curried or not', () => {
  assert.deepEqual(
    collect(forTorrent('a', stream())).values.map((u) => u.statsdictionary.fractionDone),
    [0.1, 0.2]
  )
  assert.deepEqual(
    collect(forTorrent('b')(stream())).values.map((u) => u.torrentid),
    ['b']
  )
  assert.deepEqual(collect(forTorrent('nobody', stream())).values, [])
})

test('createdIds gives created and already-downloading ids', () => {
  assert.deepEqual(collect(createdIds(stream())).values, ['a', 'b'])
})

test('rates carries the rates and totals', () => {
  assert.deepEqual(collect(rates(forTorrent('a', stream()))).values[0], {
    torrentid: 'a',
    downRate: 10,
    upRate: 1,
    downTotal: 100,
    upTotal: 5
  })
})

const feedbackArb = fc.oneof(
  fc.record({ id: fc.constantFrom('a', 'b', 'c'), f: fc.double({ min: 0, max: 1, noNaN: true }) }).map(
    ({ id, f }): Feedback => update(id, { fractionDone: f })
  ),
  fc.constantFrom('a', 'b', 'c').map((id): Feedback => newTorrentCreated(id, '/d')),
  fc.string().map((r): Feedback => torrentStartFail(r))
)

test('property: forTorrent never emits another torrent\'s update and drops none of its own', () => {
  fc.assert(
    fc.property(fc.array(feedbackArb, { maxLength: 60 }), fc.constantFrom('a', 'b', 'c'), (msgs, id) => {
      const out = collect(forTorrent(id, timed(msgs.map((m, i) => [i, m] as const)))).values
      assert.ok(out.every((u) => u.torrentid === id))
      const expected = msgs.filter((m) => m.type === 'TorrentStatusUpdate' && m.torrentid === id)
      assert.deepEqual(out, expected)
    }),
    { numRuns: 300 }
  )
})
