/**
 * The service's fast path for status updates (lib/service/service.ts
 * `fastUpdate`): with nothing queued, an update goes straight to its owners'
 * sinks. These cases pin down that it behaves as the effect queue does when
 * sinks act re-entrantly: every owner gets the update before anything a sink
 * triggers, a sink that throws fails only its own patron, and a patron whose
 * output ends gets nothing after its end.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { newDefaultScheduler } from '@most/scheduler'
import type { Sink } from '@most/types'
import { torrentService, PushSource, type TorrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import { closeTorrent, createNewTorrent, type Command, type Feedback, type TorrentId } from '../../lib/messages.ts'
import { EngineModel } from '../support/engine-model.ts'

interface Patron {
  readonly cmds: PushSource<Command>
  readonly log: string[]
  /** Called on every event after it is logged (re-entrant actions go here). */
  onEvent: (f: Feedback) => void
  ids: TorrentId[]
}

const join = (service: TorrentService, name: string, shared: string[]): Patron => {
  const cmds = new PushSource<Command>()
  const p: Patron = { cmds, log: [], onEvent: () => {}, ids: [] }
  const sink: Sink<Feedback> = {
    event: (_t, f) => {
      const line = `${name} ${f.type}${f.type === 'TorrentStatusUpdate' ? ` ${f.statsdictionary.piecesDone}` : ''}`
      p.log.push(line)
      shared.push(line)
      if (f.type === 'NewTorrentCreated' || f.type === 'TorrentAlreadyDownloading') p.ids.push(f.torrentid)
      p.onEvent(f)
    },
    end: () => {
      p.log.push(`${name} end`)
      shared.push(`${name} end`)
    },
    error: (_t, e) => {
      p.log.push(`${name} error ${e.message}`)
      shared.push(`${name} error ${e.message}`)
    }
  }
  torrentPatron(service, cmds).run(sink, newDefaultScheduler())
  return p
}

/** Two patrons `a` and `b` on one service over the engine model, both owners of torrent 'h' (`id`). */
const coOwners = () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const order: string[] = []
  const a = join(svc, 'a', order)
  const b = join(svc, 'b', order)
  a.cmds.event(createNewTorrent('h'))
  b.cmds.event(createNewTorrent('h'))
  return { m, svc, order, a, b, id: a.ids[0]! }
}

test('co-owners all get an update before what one of them does re-entrantly takes effect', () => {
  const { m, svc, order, a, b, id } = coOwners()
  assert.equal(b.ids[0], id)
  // a closes the torrent from inside its update, then asks to close it again (refused: no longer its own).
  a.onEvent = (f) => {
    if (f.type !== 'TorrentStatusUpdate') return
    a.onEvent = () => {}
    a.cmds.event(closeTorrent(id))
    a.cmds.event(closeTorrent(id))
  }
  order.length = 0
  m.update(id, 1)
  assert.deepEqual(order, ['a TorrentStatusUpdate 1', 'b TorrentStatusUpdate 1', 'a TorrentCommandRefused'])
  m.update(id, 2)
  assert.deepEqual(order.slice(3), ['b TorrentStatusUpdate 2'])
  assert.deepEqual(svc.inspect().owners, { [id]: [2] })
  assert.equal(m.running.has(id), true, 'b still owns it: the engine was not told to close')
})

test('a sink that throws on an update fails its own patron only; the co-owner gets this and later updates', () => {
  const { m, svc, order, a, id } = coOwners()
  a.onEvent = (f) => {
    if (f.type === 'TorrentStatusUpdate') throw new Error('sink broke')
  }
  order.length = 0
  m.update(id, 1)
  m.update(id, 2)
  assert.deepEqual(order, ['a TorrentStatusUpdate 1', 'a error sink broke', 'b TorrentStatusUpdate 1', 'b TorrentStatusUpdate 2'])
  assert.equal(svc.inspect().patrons, 1)
})

test('a patron that ends inside an update gets nothing after its end, and its torrent closes', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const order: string[] = []
  const a = join(svc, 'a', order)
  const other = join(svc, 'other', order) // keeps the service (and engine) running
  a.cmds.event(createNewTorrent('h'))
  other.cmds.event(createNewTorrent('k'))
  const id = a.ids[0]!
  a.onEvent = (f) => {
    if (f.type !== 'TorrentStatusUpdate') return
    a.onEvent = () => {}
    a.cmds.event(closeTorrent(id))
    a.cmds.end()
  }
  order.length = 0
  m.update(id, 1)
  m.update(id, 2)
  assert.deepEqual(order, ['a TorrentStatusUpdate 1', 'a end'])
  assert.equal(m.running.has(id), false, 'closed in the engine')
  assert.equal(svc.inspect().patrons, 1)
})

test('an update for a torrent nobody owns any more is dropped, also while others are routed', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const order: string[] = []
  const a = join(svc, 'a', order)
  const b = join(svc, 'b', order)
  a.cmds.event(createNewTorrent('h'))
  b.cmds.event(createNewTorrent('k'))
  const [ida, idb] = [a.ids[0]!, b.ids[0]!]
  a.cmds.event(closeTorrent(ida))
  order.length = 0
  m.update(ida, 1)
  m.update(idb, 1)
  assert.deepEqual(order, ['b TorrentStatusUpdate 1'])
})
