import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { newTorrentCreated, torrentStartFail, type Feedback } from '../../lib/messages.ts'
import { orderedChunks } from '../../operators/orderedChunks.ts'
import { TorrentFailedError } from '../../operators/completion.ts'
import { collect, timed, update } from './helpers.ts'

const seq = (msgs: Feedback[]) => timed(msgs.map((m, i) => [i, m] as const))
const done = (id: string) => update(id, { activity: 'seeding', fractionDone: 1 })

test('chunks come out in creation order, each when it and all before it are complete', () => {
  const out = collect(
    orderedChunks(
      seq([
        newTorrentCreated('a', '/r', { name: 'c0' }),
        newTorrentCreated('b', '/r', { name: 'c1' }),
        torrentStartFail('bad torrent'),
        newTorrentCreated('c', '/r', { name: 'c2' }),
        done('c'), // t=4: waits for a and b
        done('a'), // t=5: a out
        update('b', { fractionDone: 0.5 }),
        done('b'), // t=7: b, then c
        done('b'),
      ]),
    ),
  )
  assert.deepEqual(out.values, [
    { index: 0, torrentid: 'a', savefolder: '/r', name: 'c0' },
    { index: 1, torrentid: 'b', savefolder: '/r', name: 'c1' },
    { index: 2, torrentid: 'c', savefolder: '/r', name: 'c2' },
  ])
  assert.deepEqual(out.events.map((e) => e.t), [5, 7, 7])
  assert.equal(out.ended, 8)
})

test('a chunk that fails fails the stream and says which', () => {
  const out = collect(orderedChunks(seq([newTorrentCreated('a', '/r'), newTorrentCreated('b', '/r'), done('b'), update('a', { activity: 'error: disk full' })])))
  assert.deepEqual(out.values, [])
  assert.ok(out.error instanceof TorrentFailedError)
  assert.equal((out.error as TorrentFailedError).torrentid, 'a')
  assert.match(out.error.message, /disk full/)
})

test('updates of torrents created elsewhere, and a check reaching 100%, emit nothing', () => {
  const out = collect(orderedChunks(seq([done('x'), newTorrentCreated('a', '/r'), update('a', { activity: 'checking', fractionDone: 1 })])))
  assert.deepEqual(out.values, [])
})

test('property: any completion order emits every chunk exactly once, in creation order, never before its predecessors', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }))),
      ([n, order]) => {
        const ids = [...Array(n).keys()].map((i) => `t${i}`)
        const msgs: Feedback[] = [...ids.map((id) => newTorrentCreated(id, '/r')), ...order.map((i) => done(ids[i]!))]
        const out = collect(orderedChunks(seq(msgs)))
        assert.deepEqual(out.values.map((c) => c.index), [...Array(n).keys()])
        // chunk i comes out at the completion of the last of chunks 0..i
        out.events.forEach((e, i) => {
          const lastDone = Math.max(...order.map((k, pos) => (k <= i ? n + pos : -1)))
          assert.equal(e.t, lastDone)
        })
      },
    ),
  )
})
