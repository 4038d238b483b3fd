import assert from 'node:assert/strict'
import { test } from 'node:test'
import { now } from '@most/core'
import { createNewTorrent, type Feedback } from '../../lib/messages.ts'
import { torrentPatron } from '../../lib/patron.ts'
import { torrentService } from '../../lib/service/index.ts'
import { closeAfter } from '../../operators/closeAfter.ts'
import { downloadAll } from '../../operators/downloadAll.ts'
import { feedbackLoop } from '../../operators/feedbackLoop.ts'
import { EngineModel } from '../support/engine-model.ts'
import { collect, settle } from '../support/most.ts'
import { update } from './helpers.ts'

const bytes = (s: string) => new TextEncoder().encode(s)

test('downloadAll ends once every torrent completed or failed, then its torrents are closed', async () => {
  const model = new EngineModel()
  const service = torrentService(model.engine)
  const out = collect(downloadAll(service, [bytes('h1'), 'h2', createNewTorrent(bytes('bad torrent')), bytes('h1#again')]))
  await settle()
  const created = out.events.filter((m) => m.type === 'NewTorrentCreated').map((m) => (m.type === 'NewTorrentCreated' ? m.torrentid : ''))
  assert.deepEqual(
    out.events.map((m) => m.type),
    ['NewTorrentCreated', 'NewTorrentCreated', 'TorrentStartFail', 'TorrentAlreadyDownloading']
  )
  const [t1, t2] = created as [string, string]
  const run = model.runs[0]!
  run.emit(update(t1, { fractionDone: 0.5 }))
  run.emit(update(t1, { fractionDone: 1, activity: 'seeding' }))
  assert.equal(out.ended, false, 'one torrent still going')
  run.emit(update(t2, { activity: 'error: disk full' }))
  assert.equal(out.ended, true)
  assert.equal(out.events.at(-1)!.type, 'TorrentStatusUpdate')
  assert.deepEqual(
    model.received.filter((c) => c.type === 'CloseTorrent').map((c) => (c.type === 'CloseTorrent' ? c.torrentid : '')).sort(),
    [t1, t2].sort()
  )
  assert.equal(model.liveRuns, 0, 'last patron gone: engine disposed')
})

test('downloadAll of nothing ends at once; accepts a patron function too', async () => {
  const model = new EngineModel()
  const service = torrentService(model.engine)
  const none = collect(downloadAll(service, []))
  await settle()
  assert.equal(none.ended, true)
  const one = collect(downloadAll(torrentPatron(service))(['bad']))
  await settle()
  assert.deepEqual(one.events.map((m) => m.type), ['TorrentStartFail'])
  assert.equal(one.ended, true)
})

test('feedbackLoop + closeAfter: the patron closes its own torrent after seeding to the ratio', async () => {
  const model = new EngineModel()
  const service = torrentService(model.engine)
  const seedToRatio = feedbackLoop(service, closeAfter({ ratio: 1 }))
  const out = collect<Feedback>(seedToRatio(now(createNewTorrent(bytes('h9')))))
  await settle()
  const first = out.events[0]!
  assert.equal(first.type, 'NewTorrentCreated')
  const id = first.type === 'NewTorrentCreated' ? first.torrentid : ''
  model.runs[0]!.emit(update(id, { fractionDone: 1, activity: 'seeding', downTotal: 100, upTotal: 50 }))
  assert.equal(model.running.has(id), true)
  model.runs[0]!.emit(update(id, { fractionDone: 1, activity: 'seeding', downTotal: 100, upTotal: 100 }))
  await settle()
  assert.equal(model.running.has(id), false, 'closed through the same patron')
  assert.equal(out.events.filter((m) => m.type === 'TorrentCommandRefused').length, 0)
  out.dispose()
})
