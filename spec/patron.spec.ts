/** The patron stream: lifetime, currying, re-entrancy. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { now, empty as emptyStream, throwError } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import { torrentService } from '../lib/service/index.ts'
import { torrentPatron } from '../lib/patron.ts'
import { closeTorrent, createNewTorrent, type Command, type Feedback } from '../lib/messages.ts'
import { EngineModel } from './support/engine-model.ts'
import { collect, settle, PushSource } from './support/most.ts'

test('torrentPatron is curried: torrentPatron(s)(cmds) behaves as torrentPatron(s, cmds)', async () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const a = collect(torrentPatron(svc)(now(createNewTorrent('h1'))))
  const b = collect(torrentPatron(svc, now(createNewTorrent('h2'))))
  await settle()
  assert.deepEqual(a.events, [m.replyFor.get('h1')])
  assert.deepEqual(b.events, [m.replyFor.get('h2')])
  a.dispose()
  b.dispose()
})

test('now(createNewTorrent(x)): commands end but updates keep flowing while the torrent runs', async () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const a = collect(torrentPatron(svc, now(createNewTorrent('h1'))))
  await settle()
  m.tick(1)
  m.tick(2)
  assert.deepEqual(
    a.events.map((e) => e.type),
    ['NewTorrentCreated', 'TorrentStatusUpdate', 'TorrentStatusUpdate']
  )
  assert.equal(a.ended, false)
  a.dispose()
  assert.equal(m.running.size, 0)
  assert.equal(m.liveRuns, 0)
})

test('output ends once commands ended, nothing is pending and nothing is owned', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const cmds = new PushSource<Command>()
  const a = collect(torrentPatron(svc, cmds))
  cmds.event(createNewTorrent('h1'))
  cmds.event(createNewTorrent('bad'))
  const id = (a.events[0] as { torrentid: string }).torrentid
  cmds.event(closeTorrent(id))
  assert.equal(a.ended, false)
  cmds.end()
  assert.equal(a.ended, true)
  assert.equal(svc.inspect().patrons, 0)
  assert.equal(m.liveRuns, 0)
})

test('a patron with an empty command stream ends at once', async () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const a = collect(torrentPatron(svc, emptyStream()))
  await settle()
  assert.equal(a.ended, true)
  assert.equal(svc.state, 'idle')
})

test('a failing command stream makes the patron leave and fail with the same error', async () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const cmds = new PushSource<Command>()
  const a = collect(torrentPatron(svc, cmds))
  cmds.event(createNewTorrent('h1'))
  cmds.error(new Error('bad input'))
  assert.equal(a.error?.message, 'bad input')
  assert.equal(m.running.size, 0)
  const b = collect(torrentPatron(svc, throwError(new Error('x'))))
  await settle()
  assert.equal(b.error?.message, 'x')
  assert.equal(svc.state, 'idle')
})

test('re-entrancy: a patron creating from inside event() against a synchronous engine', () => {
  const m = new EngineModel() // replies synchronously
  const svc = torrentService(m.engine)
  const cmds = new PushSource<Command>()
  const got: Feedback[] = []
  const other = collect(torrentPatron(svc, new PushSource<Command>()))
  const d = torrentPatron(svc, cmds).run(
    {
      event: (_t, f) => {
        got.push(f)
        // chain: each reply triggers the next creation, up to three
        if (got.length < 3) cmds.event(createNewTorrent(`h${got.length + 1}`))
      },
      end: () => {},
      error: () => {}
    },
    newDefaultScheduler()
  )
  cmds.event(createNewTorrent('h1'))
  assert.deepEqual(got, [m.replyFor.get('h1'), m.replyFor.get('h2'), m.replyFor.get('h3')])
  assert.deepEqual(other.events, [])
  d.dispose()
  other.dispose()
  assert.equal(m.running.size, 0)
})

test('re-entrancy: a patron disposing itself from inside event() (take(1) style)', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const cmds = new PushSource<Command>()
  const got: Feedback[] = []
  const keep = collect(torrentPatron(svc, new PushSource<Command>()))
  let d: { dispose(): void } | undefined
  d = torrentPatron(svc, cmds).run(
    {
      event: (_t, f) => {
        got.push(f)
        d?.dispose()
      },
      end: () => {},
      error: () => {}
    },
    newDefaultScheduler()
  )
  cmds.event(createNewTorrent('h1'))
  cmds.event(createNewTorrent('h2'))
  m.tick(1)
  assert.equal(got.length, 1)
  assert.equal(m.running.size, 0) // released when it left
  assert.equal(svc.inspect().patrons, 1)
  keep.dispose()
  assert.equal(svc.state, 'idle')
  assert.equal(m.liveRuns, 0)
})
