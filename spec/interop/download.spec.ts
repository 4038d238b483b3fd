/**
 * End to end: aria2c seeds a multi-file torrent of random data on 127.0.0.1;
 * the engine, driven through torrentService + torrentPatron, finds it only
 * through the tracker (embedded bittorrent-tracker, then opentracker) and
 * downloads it; every file is compared byte for byte.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { torrentClient } from '../../lib/engine/index.ts'
import { torrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import {
  closeTorrent,
  createNewTorrent,
  isNewTorrentCreated,
  isTorrentStatusUpdate,
  type Command,
  type Feedback,
  type TorrentStats
} from '../../lib/messages.ts'
import { collect, PushSource } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startOpentracker } from '../support/peers/opentracker.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'

const SIZE = 24 << 20

const downloadThroughPatron = async (
  t: { after(fn: () => unknown): void },
  torrent: Uint8Array,
  savefolder: string
): Promise<{ id: string; last: TorrentStats; events: Feedback[] }> => {
  const service = torrentService(torrentClient({ statusInterval: 250 }))
  const commands = new PushSource<Command>()
  const out = collect<Feedback>(torrentPatron(service, commands))
  t.after(() => out.dispose())
  commands.event(createNewTorrent(torrent, { savefolder }))
  const created = await pollUntil(() => out.events.find(isNewTorrentCreated), { timeoutMs: 10000, what: 'NewTorrentCreated' })
  const last = await pollUntil(
    () => {
      const s = out.events.filter(isTorrentStatusUpdate).at(-1)?.statsdictionary
      if (s?.activity.startsWith('error')) throw new Error(s.activity)
      return s?.activity === 'seeding' ? s : undefined
    },
    { timeoutMs: 40000, what: 'download complete', explain: () => JSON.stringify(out.events.at(-1)) }
  )
  commands.event(closeTorrent(created.torrentid))
  return { id: created.torrentid, last, events: out.events }
}

for (const kind of ['bittorrent-tracker', 'opentracker'] as const) {
  test(`downloads ${SIZE >> 20} MiB from aria2c found through ${kind}`, { timeout: 60000 }, async (t) => {
    const tmp = await makeTempDir('eng-dl-')
    t.after(() => tmp.close())
    const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 5 })
    let announce: string[]
    let waitSeeder: (infoHash: string) => Promise<void>
    let allow: (infoHash: string) => Promise<void> = async () => {}
    if (kind === 'bittorrent-tracker') {
      const tracker = await startTracker({ intervalMs: 2000 })
      t.after(() => tracker.close())
      announce = [tracker.httpAnnounce]
      waitSeeder = (h) => tracker.waitForSeeders(h, 1, 15000)
    } else {
      const tracker = await startOpentracker()
      t.after(() => tracker.close())
      // Two tiers: aria2c settles on the HTTP one; the engine announces to both, so UDP is exercised too.
      announce = [tracker.httpAnnounce, tracker.udpAnnounce]
      allow = (h) => tracker.allow(h)
      waitSeeder = async (h) => {
        await pollUntil(async () => (await tracker.scrape(h)).complete >= 1, { timeoutMs: 15000, what: 'seeder listed' })
      }
    }
    const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce, pieceLengthLog2: 16 })
    const meta = await parseMetainfo(made.bytes)
    assert.ok(meta.ok)
    await allow(meta.value.infoHash)
    const seeder = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root) })
    t.after(() => seeder.close())
    await waitSeeder(meta.value.infoHash)

    const out = join(tmp.path, 'out')
    const { last } = await downloadThroughPatron(t, made.bytes, out)
    assert.equal(last.piecesDone, last.piecesTotal)
    assert.equal(last.fractionDone, 1)
    assert.equal(last.discarded, 0)
    assert.ok(last.downTotal >= SIZE, `downTotal ${last.downTotal}`)
    assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  })
}

test('two patrons on one service download two torrents at once, each sees only its own', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('eng-2pat-')
  t.after(() => tmp.close())
  const service = torrentService(torrentClient({ statusInterval: 200 }))
  const runs = await Promise.all(
    ['one', 'two'].map(async (name) => {
      const tree = await makeRandomTree(join(tmp.path, name, 'payload'), { totalBytes: 6 << 20, fileCount: 3 })
      const made = await mktorrent(tree.root, join(tmp.path, `${name}.torrent`), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
      const seeder = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root), maxUploadBytesPerSec: 3 << 20 })
      t.after(() => seeder.close())
      return { name, tree, made, seeder }
    })
  )
  const patrons = runs.map((r) => {
    const commands = new PushSource<Command>()
    const out = collect<Feedback>(torrentPatron(service, commands))
    t.after(() => out.dispose())
    commands.event(createNewTorrent(r.made.bytes, { savefolder: join(tmp.path, `out-${r.name}`), peers: [r.seeder.peer] }))
    return { ...r, commands, out }
  })
  const ids = await Promise.all(
    patrons.map((p) => pollUntil(() => p.out.events.find(isNewTorrentCreated)?.torrentid, { timeoutMs: 10000, what: 'created' }))
  )
  assert.notEqual(ids[0], ids[1])
  await Promise.all(
    patrons.map((p, i) =>
      pollUntil(
        () => p.out.events.some((m) => isTorrentStatusUpdate(m) && m.torrentid === ids[i] && m.statsdictionary.activity === 'seeding'),
        { timeoutMs: 40000, what: `${p.name} complete` }
      )
    )
  )
  patrons.forEach((p, i) => {
    const foreign = p.out.events.filter((m) => isTorrentStatusUpdate(m) && m.torrentid !== ids[i])
    assert.equal(foreign.length, 0, `${p.name} saw another patron's updates`)
    assert.equal(p.out.events.filter(isNewTorrentCreated).length, 1)
  })
  for (const p of patrons) assert.equal(await compareTrees(p.tree.root, join(tmp.path, `out-${p.name}`, 'payload')), undefined)
})
