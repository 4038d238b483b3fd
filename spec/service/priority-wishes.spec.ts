/** Co-owners' file priorities: the router's rule (highest wish wins), alone and through the Router. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { PriorityWishes } from '../../lib/service/priority-wishes.ts'
import { Router, type Effect } from '../../lib/service/index.ts'
import {
  closeTorrent,
  createNewTorrent,
  newTorrentCreated,
  setFilePriority,
  torrentAlreadyDownloading,
  torrentCommandRefused,
  type FilePriority
} from '../../lib/messages.ts'

const run = (f: (out: Effect[]) => void): Effect[] => {
  const out: Effect[] = []
  f(out)
  return out
}
const RANK: Record<FilePriority, number> = { skip: 0, low: 1, normal: 2, high: 3 }
const WORDS: FilePriority[] = ['skip', 'low', 'normal', 'high']

test('wishes: the highest wins, an owner that named nothing wants everything, leaving falls back', () => {
  const w = new PriorityWishes()
  assert.deepEqual(w.join('t', 1, [1]), [], 'no wishes: nothing recorded, nothing to apply')
  assert.equal(w.size(), 0)
  assert.deepEqual(w.set('t', 1, [1], 2, 'skip'), [{ torrentid: 't', file: 2, priority: 'skip' }])
  assert.deepEqual(w.join('t', 2, [1, 2]), [{ torrentid: 't', file: 2, priority: 'normal' }])
  assert.deepEqual(w.set('t', 2, [1, 2], 2, 'low'), [{ torrentid: 't', file: 2, priority: 'low' }])
  assert.deepEqual(w.set('t', 1, [1, 2], 0, 'high'), [{ torrentid: 't', file: 0, priority: 'high' }])
  assert.deepEqual(w.leave('t', 2), [{ torrentid: 't', file: 2, priority: 'skip' }])
  assert.deepEqual(w.leave('t', 1), [], 'the last owner: the torrent closes, nothing to apply')
  assert.equal(w.size(), 0)
})

test('property: the effective priority of a file is the highest any current owner wants (normal when unnamed)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('join' as const), owner: fc.nat({ max: 3 }), prios: fc.option(fc.array(fc.constantFrom(...WORDS), { maxLength: 3 }), { nil: undefined }) }),
          fc.record({ op: fc.constant('set' as const), owner: fc.nat({ max: 3 }), file: fc.nat({ max: 3 }), prio: fc.constantFrom(...WORDS) }),
          fc.record({ op: fc.constant('leave' as const), owner: fc.nat({ max: 3 }) })
        ),
        { maxLength: 30 }
      ),
      (ops) => {
        const w = new PriorityWishes()
        const owners: number[] = []
        const model = new Map<number, Map<number, FilePriority>>()
        const applied = new Map<number, FilePriority>() // what the engine was told
        const apply = (cs: { file: number; priority: FilePriority }[]) => cs.forEach((c) => applied.set(c.file, c.priority))
        for (const o of ops) {
          if (o.op === 'join') {
            if (owners.includes(o.owner)) continue
            owners.push(o.owner)
            model.set(o.owner, new Map((o.prios ?? []).map((p, i) => [i, p])))
            apply(w.join('t', o.owner, owners, o.prios))
          } else if (o.op === 'set') {
            if (!owners.includes(o.owner)) continue
            model.get(o.owner)!.set(o.file, o.prio)
            apply(w.set('t', o.owner, owners, o.file, o.prio))
          } else {
            if (!owners.includes(o.owner)) continue
            owners.splice(owners.indexOf(o.owner), 1)
            model.delete(o.owner)
            const changes = w.leave('t', o.owner)
            if (owners.length === 0) applied.clear() // the torrent closes
            else apply(changes)
          }
          if (owners.length === 0) continue
          for (let f = 0; f < 4; f++) {
            const want = Math.max(...owners.map((id) => RANK[model.get(id)!.get(f) ?? 'normal']))
            assert.equal(RANK[applied.get(f) ?? 'normal'], want, `file ${f}`)
          }
        }
      }
    )
  )
})

test('router: only an owner may change a priority; bad values are refused with a reason', () => {
  const r = new Router()
  r.add(1)
  r.add(2)
  r.command(1, createNewTorrent('x'), [])
  r.feedback(newTorrentCreated('T', '/'), [])
  const byStranger = setFilePriority('T', 0, 'skip')
  assert.deepEqual(run((o) => r.command(2, byStranger, o)), [
    { kind: 'deliver', patron: 2, message: torrentCommandRefused(byStranger, 'SetFilePriority refused: this patron does not own torrent T') }
  ])
  const badFile = setFilePriority('T', -1, 'skip')
  assert.match((run((o) => r.command(1, badFile, o))[0] as { message: { reason: string } }).message.reason, /bad file index -1/)
  const badWord = { ...setFilePriority('T', 0, 'skip'), priority: 'urgent' as FilePriority }
  assert.match((run((o) => r.command(1, badWord, o))[0] as { message: { reason: string } }).message.reason, /bad priority "urgent"/)
  assert.deepEqual(run((o) => r.command(1, setFilePriority('T', 0, 'skip'), o)), [{ kind: 'engine', command: setFilePriority('T', 0, 'skip') }])
})

test('router: a co-owner joining with a wider selection widens it; when it leaves the first selection returns', () => {
  const r = new Router()
  r.add(1)
  r.add(2)
  r.command(1, createNewTorrent('x', { priorities: ['normal', 'skip'] }), [])
  // the engine applied the creation's own priorities; the router restating them is harmless
  assert.deepEqual(run((o) => r.feedback(newTorrentCreated('T', '/'), o)), [
    { kind: 'engine', command: setFilePriority('T', 1, 'skip') },
    { kind: 'deliver', patron: 1, message: newTorrentCreated('T', '/') }
  ])
  r.command(2, createNewTorrent('x', { priorities: ['skip', 'high'] }), [])
  assert.deepEqual(run((o) => r.feedback(torrentAlreadyDownloading('T'), o)), [
    { kind: 'engine', command: setFilePriority('T', 1, 'high') },
    { kind: 'deliver', patron: 2, message: torrentAlreadyDownloading('T') }
  ])
  assert.deepEqual(run((o) => r.command(2, closeTorrent('T'), o)), [{ kind: 'engine', command: setFilePriority('T', 1, 'skip') }])
  assert.deepEqual(run((o) => r.command(1, closeTorrent('T'), o)), [{ kind: 'engine', command: closeTorrent('T') }])
})
