/** Unit tests of the service's routing rules and of each bug of the original. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { torrentService, sharedService, type TorrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import { closeTorrent, createNewTorrent, type Command, type Feedback } from '../../lib/messages.ts'
import { EngineModel } from '../support/engine-model.ts'
import { collect, PushSource, type Collected } from '../support/most.ts'

interface P {
  cmds: PushSource<Command>
  out: Collected<Feedback>
}
const patron = (service: TorrentService): P => {
  const cmds = new PushSource<Command>()
  return { cmds, out: collect(torrentPatron(service, cmds)) }
}
const types = (p: P) => p.out.events.map((e) => e.type)
const empty = (service: TorrentService) => {
  const s = service.inspect()
  assert.equal(s.patrons, 0)
  assert.equal(s.pending, 0)
  assert.equal(s.torrents, 0)
  assert.equal(s.closing, 0)
  assert.equal(s.sinks, 0)
  assert.equal(s.state, 'idle')
}

test('rule 1: creation replies go FIFO to the patron that asked', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const a = patron(svc)
  const b = patron(svc)
  a.cmds.event(createNewTorrent('h1'))
  b.cmds.event(createNewTorrent('h2'))
  a.cmds.event(createNewTorrent('h3'))
  assert.deepEqual(a.out.events, [m.replyFor.get('h1'), m.replyFor.get('h3')])
  assert.deepEqual(b.out.events, [m.replyFor.get('h2')])
})

test('bug 1: an undecodable torrent is still answered and the FIFO is not stuck', async () => {
  let release: () => void = () => {}
  const gates: Promise<void>[] = []
  const m = new EngineModel({ delay: () => gates[gates.push(new Promise((r) => (release = r))) - 1]! })
  const svc = torrentService(m.engine)
  const a = patron(svc)
  const b = patron(svc)
  a.cmds.event(createNewTorrent('bad bytes'))
  const releaseA = release
  b.cmds.event(createNewTorrent('h2'))
  const releaseB = release
  releaseA()
  releaseB()
  await Promise.all(gates)
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(types(a), ['TorrentStartFail'])
  assert.deepEqual(types(b), ['NewTorrentCreated'])
})

test('rule 2: status updates go only to the owners; unknown ids are dropped (bug 3)', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const a = patron(svc)
  const b = patron(svc)
  a.cmds.event(createNewTorrent('h1'))
  m.update('nobody-owns-this')
  m.tick(1)
  assert.deepEqual(types(a), ['NewTorrentCreated', 'TorrentStatusUpdate'])
  assert.deepEqual(types(b), [])
  assert.equal(svc.state, 'running')
})

test('bug 5: a patron told AlreadyDownloading co-owns the torrent and receives its updates', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const a = patron(svc)
  const b = patron(svc)
  a.cmds.event(createNewTorrent('same#a'))
  b.cmds.event(createNewTorrent('same#b'))
  assert.deepEqual(types(b), ['TorrentAlreadyDownloading'])
  m.tick(1)
  assert.deepEqual(types(a), ['NewTorrentCreated', 'TorrentStatusUpdate'])
  assert.deepEqual(types(b), ['TorrentAlreadyDownloading', 'TorrentStatusUpdate'])
  // the first owner closes: the torrent keeps running for the second
  const id = (b.out.events[0] as { torrentid: string }).torrentid
  a.cmds.event(closeTorrent(id))
  assert.equal(m.received.filter((c) => c.type === 'CloseTorrent').length, 0)
  m.tick(2)
  assert.equal(a.out.events.length, 2)
  assert.equal(b.out.events.length, 3)
  // the last owner closes: now the engine hears of it
  b.cmds.event(closeTorrent(id))
  assert.deepEqual(m.received.at(-1), closeTorrent(id))
  assert.equal(m.running.size, 0)
})

test('bug 4: a close from a non-owner is refused and never reaches the engine', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const a = patron(svc)
  const b = patron(svc)
  a.cmds.event(createNewTorrent('h1'))
  const id = (a.out.events[0] as { torrentid: string }).torrentid
  b.cmds.event(closeTorrent(id))
  b.cmds.event(closeTorrent('T999'))
  assert.deepEqual(types(b), ['TorrentCommandRefused', 'TorrentCommandRefused'])
  assert.deepEqual(m.received.map((c) => c.type), ['CreateNewTorrent'])
  assert.equal(m.running.size, 1)
})

test('bug 2: a departed patron gets nothing, its pending reply is swallowed and its torrents are closed', async () => {
  const releases: (() => void)[] = []
  const m = new EngineModel({ delay: () => new Promise<void>((r) => releases.push(r)) })
  const svc = torrentService(m.engine)
  const a = patron(svc)
  const b = patron(svc)
  a.cmds.event(createNewTorrent('ha1'))
  releases.shift()!()
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(types(a), ['NewTorrentCreated'])
  a.cmds.event(createNewTorrent('ha2')) // will be answered after a leaves
  b.cmds.event(createNewTorrent('hb1'))
  a.out.dispose()
  // a's running torrent closed right away
  assert.deepEqual(m.received.at(-1), closeTorrent('T1'))
  for (const r of releases.splice(0)) r()
  await new Promise((r) => setImmediate(r))
  // a's late NewTorrentCreated was swallowed and closed; b got its own reply
  assert.equal(a.out.late, 0)
  assert.deepEqual(types(b), ['NewTorrentCreated'])
  assert.deepEqual(b.out.events[0], m.replyFor.get('hb1'))
  assert.deepEqual([...m.running.values()], ['hb1'])
  m.tick(1)
  assert.equal(a.out.events.length, 1)
  assert.equal(b.out.events.length, 2)
  assert.equal(svc.inspect().patrons, 1)
  b.out.dispose()
  empty(svc)
  assert.equal(m.liveRuns, 0)
})

test('rule 5: the engine starts with the first patron and is disposed after the last; a later patron restarts it', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  assert.equal(m.runs.length, 0)
  const a = patron(svc)
  const b = patron(svc)
  assert.equal(m.runs.length, 1)
  a.cmds.event(createNewTorrent('h1'))
  a.out.dispose()
  assert.equal(m.liveRuns, 1)
  b.out.dispose()
  assert.equal(m.liveRuns, 0)
  empty(svc)
  const c = patron(svc)
  assert.equal(m.liveRuns, 1)
  c.cmds.event(createNewTorrent('h1'))
  assert.deepEqual(types(c), ['NewTorrentCreated'])
  c.out.dispose()
  empty(svc)
})

test('bug 6: a patron arriving while the shared service shuts down gets a live service', () => {
  const models: EngineModel[] = []
  let late: P | undefined
  let shared: TorrentService
  const make = () => {
    const m = new EngineModel({
      onDispose: () => {
        // a patron arrives in the middle of the shutdown
        if (late === undefined) late = patron(shared)
      }
    })
    models.push(m)
    return m.engine
  }
  shared = sharedService(make)
  const a = patron(shared)
  a.cmds.event(createNewTorrent('h1'))
  a.out.dispose()
  assert.ok(late !== undefined)
  assert.equal(models[0]!.liveRuns, 0)
  late.cmds.event(createNewTorrent('h2'))
  assert.deepEqual(types(late), ['NewTorrentCreated'])
  assert.equal(shared.state, 'running')
  assert.equal(models.length, 2)
  late.out.dispose()
  assert.equal(models[1]!.liveRuns, 0)
  // fully shut down: the next patron gets yet another fresh service
  const c = patron(shared)
  assert.equal(models.length, 3)
  c.out.dispose()
})

test('bug 6 (explicit service): a patron joining during shutdown waits for a fresh engine', () => {
  let late: P | undefined
  let svc: TorrentService
  const m = new EngineModel({
    onDispose: () => {
      if (late === undefined) {
        late = patron(svc)
        late.cmds.event(createNewTorrent('h2'))
      }
    }
  })
  svc = torrentService(m.engine)
  const a = patron(svc)
  a.out.dispose()
  assert.ok(late !== undefined)
  assert.equal(m.runs.length, 2)
  assert.equal(m.liveRuns, 1)
  assert.deepEqual(types(late), ['NewTorrentCreated'])
  late.out.dispose()
  empty(svc)
})

test('a NewTorrentCreated nobody asked for is closed', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const a = patron(svc)
  const run = m.runs[0]!
  run.emit({ type: 'NewTorrentCreated', torrentid: 'X', savefolder: '/' })
  assert.deepEqual(m.received, [closeTorrent('X')])
  assert.deepEqual(types(a), [])
})

test('AlreadyDownloading for a torrent its last owner closed meanwhile becomes TorrentStartFail', async () => {
  const releases: (() => void)[] = []
  const m = new EngineModel({ delay: () => new Promise<void>((r) => releases.push(r)) })
  const svc = torrentService(m.engine)
  const a = patron(svc)
  const b = patron(svc)
  a.cmds.event(createNewTorrent('h#a'))
  releases.shift()!()
  await new Promise((r) => setImmediate(r))
  b.cmds.event(createNewTorrent('h#b')) // engine decides AlreadyDownloading(T1) now
  a.cmds.event(closeTorrent('T1')) // last owner: closed before b's reply arrives
  releases.shift()!()
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(m.replyFor.get('h#b'), { type: 'TorrentAlreadyDownloading', torrentid: 'T1' })
  assert.deepEqual(types(b), ['TorrentStartFail'])
  assert.equal(svc.inspect().torrents, 0)
  assert.equal(svc.inspect().closing, 0)
})

test('engine output ends: pending creations get TorrentStartFail, patrons end', async () => {
  const releases: (() => void)[] = []
  const m = new EngineModel({ delay: () => new Promise<void>((r) => releases.push(r)) })
  const svc = torrentService(m.engine)
  const a = patron(svc)
  a.cmds.event(createNewTorrent('h1'))
  m.endAll()
  assert.deepEqual(types(a), ['TorrentStartFail'])
  assert.match((a.out.events[0] as { reason: string }).reason, /engine stopped/)
  assert.equal(a.out.ended, true)
  empty(svc)
  for (const r of releases.splice(0)) r()
  await new Promise((r) => setImmediate(r))
  assert.equal(a.out.late, 0)
  // the service is not dead: a new patron restarts the engine
  const b = patron(svc)
  b.cmds.event(createNewTorrent('h2'))
  releases.shift()!()
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(types(b), ['NewTorrentCreated'])
  b.out.dispose()
})

test('engine output fails: pending creations get TorrentStartFail, patrons fail with the error', () => {
  const m = new EngineModel({ delay: () => new Promise(() => {}) })
  const svc = torrentService(m.engine)
  const a = patron(svc)
  a.cmds.event(createNewTorrent('h1'))
  m.failAll(new Error('disk on fire'))
  assert.deepEqual(types(a), ['TorrentStartFail'])
  assert.match((a.out.events[0] as { reason: string }).reason, /disk on fire/)
  assert.equal(a.out.error?.message, 'disk on fire')
  empty(svc)
})

test('a patron whose sink throws leaves; others go on', () => {
  const m = new EngineModel()
  const svc = torrentService(m.engine)
  const cmds = new PushSource<Command>()
  let failed: Error | undefined
  torrentPatron(svc, cmds).run(
    {
      event: () => {
        throw new Error('boom')
      },
      end: () => {},
      error: (_t, e) => {
        failed = e
      }
    },
    { currentTime: () => 0 } as never
  )
  const b = patron(svc)
  cmds.event(createNewTorrent('h1'))
  assert.equal(failed?.message, 'boom')
  assert.equal(m.running.size, 0) // its new torrent was released
  b.cmds.event(createNewTorrent('h2'))
  assert.deepEqual(types(b), ['NewTorrentCreated'])
  b.out.dispose()
  empty(svc)
})
