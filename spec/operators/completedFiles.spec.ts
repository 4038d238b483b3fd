import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { newTorrentCreated, torrentStartFail, type Feedback } from '../../lib/messages.ts'
import { completedFiles } from '../../operators/completedFiles.ts'
import { collect, timed, update } from './helpers.ts'

const seq = (msgs: Feedback[]) => timed(msgs.map((m, i) => [i, m] as const))

test('each file comes out once, in the update that first lists it, whatever the order; torrents created elsewhere are ignored', () => {
  const o = collect(
    completedFiles(
      seq([
        newTorrentCreated('a', '/r', { name: 'A' }), // 0
        update('x', { filesComplete: [0] }), // 1: not created here
        torrentStartFail('bad'), // 2
        newTorrentCreated('b', '/s'), // 3
        update('a', { filesComplete: [2] }), // 4
        update('b', { filesComplete: [1, 0] }), // 5
        update('a', { filesComplete: [0, 2] }), // 6
        update('a', { filesComplete: [0, 2], filesSkipped: [1] }), // 7
        update('a', { activity: 'error: disk full', filesComplete: [0, 2] }), // 8: no error here
        update('b', { filesComplete: [-1, 0.5, 'z', 1] as unknown as number[] }), // 9
      ]),
    ),
  )
  assert.deepEqual(
    o.events.map((e) => [e.t, `${e.value.torrentid}/${e.value.file}`]),
    [[4, 'a/2'], [5, 'b/0'], [5, 'b/1'], [6, 'a/0']],
  )
  assert.deepEqual(o.values[0], { torrentid: 'a', torrent: 0, file: 2, savefolder: '/r', name: 'A' })
  assert.deepEqual(o.values[1], { torrentid: 'b', torrent: 1, file: 0, savefolder: '/s' })
  assert.equal(o.error, undefined)
  assert.equal(o.ended, 9)
})

test('property: nothing lost, nothing twice, never before its update', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 4 })), { maxLength: 30 }),
      (updates) => {
        const ids = ['a', 'b', 'c', 'd']
        const msgs: Feedback[] = ids.map((id) => newTorrentCreated(id, '/r'))
        const lists = ids.map(() => new Set<number>())
        const first = new Map<string, number>()
        for (const [t, add] of updates) {
          for (const f of add) lists[t]!.add(f)
          for (const f of lists[t]!) if (!first.has(`${ids[t]}/${f}`)) first.set(`${ids[t]}/${f}`, msgs.length)
          msgs.push(update(ids[t]!, { filesComplete: [...lists[t]!] }))
        }
        const o = collect(completedFiles(seq(msgs)))
        const got = o.events.map((e) => `${e.value.torrentid}/${e.value.file}`)
        assert.equal(new Set(got).size, got.length)
        assert.deepEqual(new Set(got), new Set(first.keys()))
        o.events.forEach((e) => assert.equal(e.t, first.get(`${e.value.torrentid}/${e.value.file}`)))
      },
    ),
  )
})
