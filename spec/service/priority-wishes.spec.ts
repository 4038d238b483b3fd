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

test('wishes: concerns() is false exactly when a join could change nothing (the router skips the join then)', () => {
  const w = new PriorityWishes()
  assert.equal(w.concerns('t'), false, 'nobody wished anything, the joiner wants everything')
  assert.equal(w.concerns('t', []), false)
  assert.equal(w.concerns('t', undefined, 'normal'), false)
  assert.equal(w.concerns('t', ['normal']), true, 'a file named normal is still named')
  assert.equal(w.concerns('t', undefined, 'skip'), true)
  w.set('t', 1, [1], 0, 'skip')
  assert.equal(w.concerns('t'), true, 'an owner wished something: a new owner wanting everything lifts the skip')
  assert.deepEqual(w.join('t', 2, [1, 2]), [{ torrentid: 't', file: 0, priority: 'normal' }])
  assert.equal(w.concerns('u'), false, 'other torrents are not concerned')
})

test('wishes: a file named normal stays normal when its owner then skips the others', () => {
  const w = new PriorityWishes()
  assert.deepEqual(w.join('t', 2, [2], ['normal']), [])
  w.set('t', 2, [2], 'others', 'skip')
  assert.equal(w.priorityOf('t', 0), 'normal')
  assert.equal(w.priorityOf('t', 1), 'skip')
})

test('property: the effective priority of a file is the highest any current owner wants (its others when unnamed)', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({
            op: fc.constant('join' as const),
            owner: fc.nat({ max: 3 }),
            prios: fc.option(fc.array(fc.constantFrom(...WORDS), { maxLength: 3 }), { nil: undefined }),
            others: fc.option(fc.constantFrom(...WORDS), { nil: undefined })
          }),
          fc.record({ op: fc.constant('set' as const), owner: fc.nat({ max: 3 }), file: fc.oneof(fc.nat({ max: 3 }), fc.constant('others' as const)), prio: fc.constantFrom(...WORDS) }),
          fc.record({ op: fc.constant('leave' as const), owner: fc.nat({ max: 3 }) })
        ),
        { maxLength: 30 }
      ),
      (ops) => {
        const w = new PriorityWishes()
        const owners: number[] = []
        const model = new Map<number, { files: Map<number, FilePriority>; others: FilePriority }>()
        // what the engine was told: a file's own priority, else the others' (the engine's rule)
        const applied = new Map<number, FilePriority>()
        let appliedOthers: FilePriority = 'normal'
        const apply = (cs: { file: number | 'others'; priority: FilePriority }[]) =>
          cs.forEach((c) => (c.file === 'others' ? (appliedOthers = c.priority) : applied.set(c.file, c.priority)))
        for (const o of ops) {
          if (o.op === 'join') {
            if (owners.includes(o.owner)) continue
            owners.push(o.owner)
            model.set(o.owner, { files: new Map((o.prios ?? []).map((p, i) => [i, p])), others: o.others ?? 'normal' })
            apply(w.join('t', o.owner, owners, o.prios, o.others))
          } else if (o.op === 'set') {
            if (!owners.includes(o.owner)) continue
            if (o.file === 'others') model.get(o.owner)!.others = o.prio
            else model.get(o.owner)!.files.set(o.file, o.prio)
            apply(w.set('t', o.owner, owners, o.file, o.prio))
          } else {
            if (!owners.includes(o.owner)) continue
            owners.splice(owners.indexOf(o.owner), 1)
            model.delete(o.owner)
            const changes = w.leave('t', o.owner)
            if (owners.length === 0) {
              // the torrent closes
              applied.clear()
              appliedOthers = 'normal'
            } else apply(changes)
          }
          if (owners.length === 0) continue
          for (let f = 0; f < 5; f++) {
            const want = Math.max(...owners.map((id) => RANK[model.get(id)!.files.get(f) ?? model.get(id)!.others]))
            assert.equal(RANK[applied.get(f) ?? appliedOthers], want, `file ${f}`)
          }
        }
      }
    )
  )
})

test('wishes: a file the engine does not have is forgotten, and only the owners that named it are returned', () => {
  const w = new PriorityWishes()
  w.join('t', 1, [1], ['normal'])
  w.join('t', 2, [1, 2])
  w.set('t', 1, [1, 2], 9, 'high')
  w.set('t', 2, [1, 2], 3, 'skip')
  assert.deepEqual(w.drop('t', 9), [{ owner: 1, priority: 'high' }])
  assert.deepEqual(w.drop('t', 9), [], 'forgotten')
  assert.equal(w.priorityOf('t', 9), 'normal')
  assert.deepEqual(w.drop('t', 3), [{ owner: 2, priority: 'skip' }])
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

test('router: the asked file always reaches the engine, so the engine can say it has no such file', () => {
  const r = new Router()
  r.add(1)
  r.command(1, createNewTorrent('x'), [])
  r.feedback(newTorrentCreated('T', '/'), [])
  // normal is what file 7 has already: still sent
  assert.deepEqual(run((o) => r.command(1, setFilePriority('T', 7, 'normal'), o)), [{ kind: 'engine', command: setFilePriority('T', 7, 'normal') }])
})

test('router: an engine refusal goes to the owners that asked for that file only, each with its own wish', () => {
  const r = new Router()
  r.add(1)
  r.add(2)
  r.add(3)
  r.command(1, createNewTorrent('x'), [])
  r.feedback(newTorrentCreated('T', '/'), [])
  r.command(2, createNewTorrent('x'), [])
  r.feedback(torrentAlreadyDownloading('T'), [])
  r.command(1, setFilePriority('T', 5, 'high'), [])
  r.command(2, setFilePriority('T', 1, 'skip'), [])
  const reason = 'SetFilePriority refused: torrent T has 3 files (numbered 0 to 2); there is no file 5'
  assert.deepEqual(run((o) => r.feedback(torrentCommandRefused(setFilePriority('T', 5, 'high'), reason), o)), [
    { kind: 'deliver', patron: 1, message: torrentCommandRefused(setFilePriority('T', 5, 'high'), reason) }
  ])
  // a refusal for a torrent nobody owns, or for another command, goes nowhere
  assert.deepEqual(run((o) => r.feedback(torrentCommandRefused(setFilePriority('U', 5, 'high'), reason), o)), [])
  assert.deepEqual(run((o) => r.feedback(torrentCommandRefused(closeTorrent('T'), reason), o)), [])
})

test('router: a creation with otherFiles skip, then a co-owner asking for everything: the others come back first, then every named file', () => {
  const r = new Router()
  r.add(1)
  r.add(2)
  r.command(1, createNewTorrent('x', { priorities: ['skip', 'normal'], otherFiles: 'skip' }), [])
  assert.deepEqual(run((o) => r.feedback(newTorrentCreated('T', '/'), o)), [
    { kind: 'engine', command: setFilePriority('T', 'others', 'skip') },
    { kind: 'engine', command: setFilePriority('T', 0, 'skip') },
    { kind: 'engine', command: setFilePriority('T', 1, 'normal') },
    { kind: 'deliver', patron: 1, message: newTorrentCreated('T', '/') }
  ])
  r.command(2, createNewTorrent('x'), [])
  assert.deepEqual(run((o) => r.feedback(torrentAlreadyDownloading('T'), o)), [
    { kind: 'engine', command: setFilePriority('T', 'others', 'normal') },
    { kind: 'engine', command: setFilePriority('T', 0, 'normal') },
    { kind: 'engine', command: setFilePriority('T', 1, 'normal') },
    { kind: 'deliver', patron: 2, message: torrentAlreadyDownloading('T') }
  ])
  assert.deepEqual(run((o) => r.command(2, closeTorrent('T'), o)).map((e) => (e as { command: unknown }).command), [
    setFilePriority('T', 'others', 'skip'),
    setFilePriority('T', 0, 'skip'),
    setFilePriority('T', 1, 'normal')
  ])
})
