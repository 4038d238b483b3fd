import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { newTorrentCreated, torrentStartFail, type Feedback, type TorrentStats } from '../../lib/messages.ts'
import { orderedFiles } from '../../operators/orderedFiles.ts'
import { TorrentFailedError } from '../../operators/completion.ts'
import { collect, timed, update } from './helpers.ts'

const seq = (msgs: Feedback[]) => timed(msgs.map((m, i) => [i, m] as const))
const files = (id: string, filesComplete: number[], more: Partial<TorrentStats> = {}) => update(id, { filesComplete, ...more })
const done = (id: string, filesComplete: number[], more: Partial<TorrentStats> = {}) => files(id, filesComplete, { activity: 'seeding', fractionDone: 1, ...more })
const out = (msgs: Feedback[]) => {
  const o = collect(orderedFiles(seq(msgs)))
  return { ...o, pairs: o.values.map((f) => `${f.torrentid}/${f.file}`), times: o.events.map((e) => e.t) }
}

test('files come out in file order within a torrent, torrents in creation order, each once it and all before it are complete', () => {
  const o = out([
    newTorrentCreated('a', '/r', { name: 'A' }), // 0
    newTorrentCreated('b', '/r'), // 1
    files('b', [0, 1]), // 2: waits for a
    files('a', [1]), // 3: waits for a/0
    files('a', [0, 1]), // 4: a/0, a/1
    files('a', [0, 1]), // 5: nothing twice
    done('a', [0, 1, 2]), // 6: a/2, then b/0 b/1
    done('b', [0, 1, 2]), // 7: b/2
  ])
  assert.deepEqual(o.pairs, ['a/0', 'a/1', 'a/2', 'b/0', 'b/1', 'b/2'])
  assert.deepEqual(o.times, [4, 4, 6, 6, 6, 7])
  assert.deepEqual(o.values[0], { torrentid: 'a', torrent: 0, file: 0, savefolder: '/r', name: 'A' })
  assert.equal(o.values[3]!.torrent, 1)
  assert.equal(o.ended, 7)
})

test('a skipped file is passed over; wanted again before its turn it is waited for; wanted after its turn it stays passed over', () => {
  const o = out([
    newTorrentCreated('a', '/r'),
    files('a', [], { filesSkipped: [0, 2] }), // 1: 0 passed over, waits for 1
    files('a', [1, 3], { filesSkipped: [0] }), // 2: 2 is wanted again: a/1, then waits for 2
    files('a', [1, 2, 3]), // 3: a/2 a/3; 0 wanted again, but its turn is gone
    done('a', [0, 1, 2, 3]), // 4
  ])
  assert.deepEqual(o.pairs, ['a/1', 'a/2', 'a/3'])
  assert.deepEqual(o.times, [2, 3, 3])
})

test('a complete torrent gives the rest of its listed files in order, whatever is not listed (files it does not want or has not)', () => {
  // the status of a complete torrent lists every wanted file; a gap is a file it does not have
  const o = out([newTorrentCreated('a', '/r'), newTorrentCreated('b', '/r'), done('b', [0]), done('a', [1, 4], { filesSkipped: [0] })])
  assert.deepEqual(o.pairs, ['a/1', 'a/4', 'b/0'])
})

test('a torrent that fails or shuts down before it is complete fails the stream and says which; after it is complete it does not', () => {
  const failed = out([newTorrentCreated('a', '/r'), newTorrentCreated('b', '/r'), files('a', [0]), files('b', [0]), update('b', { activity: 'error: disk full' })])
  assert.deepEqual(failed.pairs, ['a/0'])
  assert.ok(failed.error instanceof TorrentFailedError)
  assert.equal((failed.error as TorrentFailedError).torrentid, 'b')
  assert.match(failed.error.message, /disk full/)
  const closed = out([newTorrentCreated('a', '/r'), done('a', [0]), update('a', { activity: 'shut down' })])
  assert.deepEqual(closed.pairs, ['a/0'])
  assert.equal(closed.error, undefined)
  assert.equal(closed.ended, 2)
})

test('bad input: torrents created elsewhere, failed creations, updates without files, junk in the lists', () => {
  const o = out([
    done('x', [0]), // not created here
    torrentStartFail('bad torrent'), // takes no place
    newTorrentCreated('a', '/r'),
    newTorrentCreated('a', '/r'), // created twice: one place
    update('a', { activity: 'fetching metadata' }), // no file list yet
    update('a', { filesComplete: [-1, 1.5, 'x', null, 0, 0] as unknown as number[], filesSkipped: 'nope' as unknown as number[] }),
    update('a', { filesComplete: 7 as unknown as number[] }),
    done('a', [0, 1]),
  ])
  assert.deepEqual(o.pairs, ['a/0', 'a/1'])
  assert.deepEqual(o.times, [5, 7])
  assert.equal(o.error, undefined)
})

/** Torrents with files, some skipped, each wanted file completing once, in any interleaving. */
const scenario = fc
  .array(fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 5 })
  .chain((torrents) => {
    // one event per wanted file; a torrent with no wanted file completes in one event of its own
    const events = torrents.flatMap((skips, t) => {
      const wanted = skips.flatMap((s, f) => (s ? [] : [f]))
      return wanted.length === 0 ? [{ t, f: -1 }] : wanted.map((f) => ({ t, f }))
    })
    return fc.tuple(fc.constant(torrents), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), fc.array(fc.nat(), { maxLength: 6 }))
  })

test('property: any completion order gives every wanted file exactly once, in creation order, as soon as it and all before it are complete', () => {
  fc.assert(
    fc.property(scenario, ([torrents, order, repeats]) => {
      const ids = torrents.map((_, t) => `t${t}`)
      const msgs: Feedback[] = ids.map((id) => newTorrentCreated(id, '/r'))
      const completeAt = new Map<string, number>() // "t/f" -> time of its update
      const got = torrents.map(() => [] as number[])
      const left = torrents.map((skips) => skips.filter((s) => !s).length)
      for (const [k, { t, f }] of order.entries()) {
        if (f >= 0) {
          got[t]!.push(f)
          left[t]!--
        }
        completeAt.set(`${t}/${f}`, msgs.length)
        const filesSkipped = torrents[t]!.flatMap((s, i) => (s ? [i] : []))
        const stats = { filesComplete: [...got[t]!].sort((a, b) => a - b), ...(filesSkipped.length > 0 ? { filesSkipped } : {}) }
        msgs.push(left[t] === 0 ? done(ids[t]!, stats.filesComplete, stats) : files(ids[t]!, stats.filesComplete, stats))
        // the same update again now and then: nothing comes out twice
        if (repeats.includes(k)) msgs.push(msgs.at(-1)!)
      }
      const o = out(msgs)
      const expected = torrents.flatMap((skips, t) => skips.flatMap((s, f) => (s ? [] : [`t${t}/${f}`])))
      assert.deepEqual(o.pairs, expected)
      assert.equal(o.error, undefined)
      // each comes out at the latest completion among it and everything before it in the sequence
      const before = (t: number, f: number) => [...completeAt].filter(([key]) => {
        const [kt, kf] = key.split('/').map(Number) as [number, number]
        return kt < t || (kt === t && kf <= f)
      })
      o.values.forEach((v, i) => {
        assert.equal(o.times[i], Math.max(...before(v.torrent, v.file).map(([, time]) => time)), `${o.pairs[i]}`)
      })
    }),
  )
})
