/** The pure routing state, rule by rule, without streams. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Router, type Effect } from '../../lib/service/index.ts'
import {
  closeTorrent,
  createNewTorrent,
  emptyStats,
  newTorrentCreated,
  serviceAdd,
  servicePassOn,
  serviceRemove,
  torrentAlreadyDownloading,
  torrentStartFail,
  torrentStatusUpdate
} from '../../lib/messages.ts'

const run = (f: (out: Effect[]) => void): Effect[] => {
  const out: Effect[] = []
  f(out)
  return out
}

test('a create is queued and handed to the engine; replies pop FIFO', () => {
  const r = new Router()
  r.add(1)
  r.add(2)
  const c1 = createNewTorrent('x')
  assert.deepEqual(run((o) => r.command(1, c1, o)), [{ kind: 'engine', command: c1 }])
  r.command(2, createNewTorrent('y'), [])
  assert.equal(r.snapshot().pending, 2)
  assert.deepEqual(run((o) => r.feedback(torrentStartFail('bad'), o)), [
    { kind: 'deliver', patron: 1, message: torrentStartFail('bad') }
  ])
  assert.deepEqual(run((o) => r.feedback(newTorrentCreated('T', '/'), o)), [
    { kind: 'deliver', patron: 2, message: newTorrentCreated('T', '/') }
  ])
  assert.deepEqual(r.snapshot().owners, { T: [2] })
})

test('leaving marks entries dead: the next reply still goes to the right patron, a dead creation is closed', () => {
  const r = new Router()
  r.inbox(serviceAdd(1), [])
  r.inbox(serviceAdd(2), [])
  r.inbox(servicePassOn(1, createNewTorrent('x')), [])
  r.inbox(servicePassOn(2, createNewTorrent('y')), [])
  r.inbox(serviceRemove(1), [])
  assert.deepEqual(r.snapshot().livePending, 1)
  assert.deepEqual(run((o) => r.feedback(newTorrentCreated('T1', '/'), o)), [{ kind: 'engine', command: closeTorrent('T1') }])
  assert.deepEqual(run((o) => r.feedback(newTorrentCreated('T2', '/'), o)), [
    { kind: 'deliver', patron: 2, message: newTorrentCreated('T2', '/') }
  ])
})

test('co-owners: updates to both, the engine hears the close only from the last', () => {
  const r = new Router()
  r.add(1)
  r.add(2)
  r.command(1, createNewTorrent('x'), [])
  r.command(2, createNewTorrent('x'), [])
  r.feedback(newTorrentCreated('T', '/'), [])
  r.feedback(torrentAlreadyDownloading('T'), [])
  const u = torrentStatusUpdate('T', emptyStats)
  assert.deepEqual(
    run((o) => r.feedback(u, o)).map((e) => (e.kind === 'deliver' ? e.patron : -1)),
    [1, 2]
  )
  assert.deepEqual(run((o) => r.command(1, closeTorrent('T'), o)), [])
  assert.deepEqual(run((o) => r.command(2, closeTorrent('T'), o)), [{ kind: 'engine', command: closeTorrent('T') }])
  assert.deepEqual(run((o) => r.feedback(u, o)), [])
})

test('a non-owner close is refused; unknown patrons and unknown torrents are ignored', () => {
  const r = new Router()
  r.add(1)
  const out = run((o) => r.command(1, closeTorrent('T'), o))
  assert.equal(out.length, 1)
  assert.equal(out[0]!.kind, 'deliver')
  assert.deepEqual(run((o) => r.command(9, createNewTorrent('x'), o)), [])
  assert.deepEqual(run((o) => r.feedback(torrentStatusUpdate('nope', emptyStats), o)), [])
  assert.deepEqual(run((o) => r.feedback(torrentStartFail('nobody asked'), o)), [])
})

test('commands ended: the end effect comes once nothing is pending and nothing is owned', () => {
  const r = new Router()
  r.add(1)
  r.command(1, createNewTorrent('x'), [])
  assert.deepEqual(run((o) => r.commandsEnded(1, o)), [])
  const out = run((o) => r.feedback(newTorrentCreated('T', '/'), o))
  assert.equal(out.length, 1)
  // The patron cannot close any more (its commands ended); leaving releases T.
  assert.deepEqual(run((o) => r.leave(1, o)), [{ kind: 'engine', command: closeTorrent('T') }])
  assert.equal(r.size, 0)
  r.add(2)
  r.command(2, createNewTorrent('y'), [])
  r.commandsEnded(2, [])
  assert.deepEqual(run((o) => r.feedback(torrentStartFail('no'), o)), [
    { kind: 'deliver', patron: 2, message: torrentStartFail('no') },
    { kind: 'end', patron: 2 }
  ])
})

test('the queue stays compact over many requests', () => {
  const r = new Router()
  r.add(1)
  for (let i = 0; i < 5000; i++) {
    r.command(1, createNewTorrent('x'), [])
    r.command(1, createNewTorrent('x'), [])
    r.feedback(torrentStartFail('no'), [])
  }
  assert.equal(r.snapshot().pending, 5000)
  for (let i = 0; i < 5000; i++) r.feedback(torrentStartFail('no'), [])
  assert.equal(r.snapshot().pending, 0)
})

test('owners in ownership order through joins and leaves: lone, co-owned, lone again, co-owned again', () => {
  const r = new Router()
  for (const p of [1, 2, 3]) r.add(p)
  const u = torrentStatusUpdate('T', emptyStats)
  const deliveredTo = (): number[] => run((o) => r.feedback(u, o)).map((e) => (e.kind === 'deliver' ? e.patron : -1))
  r.command(1, createNewTorrent('x'), [])
  r.feedback(newTorrentCreated('T', '/'), [])
  assert.deepEqual(deliveredTo(), [1])
  for (const p of [2, 3]) {
    r.command(p, createNewTorrent('x'), [])
    r.feedback(torrentAlreadyDownloading('T'), [])
  }
  assert.deepEqual(deliveredTo(), [1, 2, 3])
  assert.deepEqual(run((o) => r.command(2, closeTorrent('T'), o)), [])
  assert.deepEqual(deliveredTo(), [1, 3])
  assert.deepEqual(run((o) => r.command(1, closeTorrent('T'), o)), [])
  assert.deepEqual(deliveredTo(), [3])
  assert.deepEqual(r.snapshot().owners, { T: [3] })
  r.command(2, createNewTorrent('x'), [])
  r.feedback(torrentAlreadyDownloading('T'), [])
  assert.deepEqual(deliveredTo(), [3, 2])
  assert.deepEqual(run((o) => r.command(1, closeTorrent('T'), o)).map((e) => e.kind), ['deliver'], 'a former owner is refused')
  assert.deepEqual(run((o) => r.command(3, closeTorrent('T'), o)), [])
  assert.deepEqual(run((o) => r.command(2, closeTorrent('T'), o)), [{ kind: 'engine', command: closeTorrent('T') }])
  assert.deepEqual(deliveredTo(), [])
  assert.equal(r.snapshot().torrents, 0)
})
