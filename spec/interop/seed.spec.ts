/**
 * Seeding to real clients: makeTorrent on a tree of random data,
 * checked by transmission-show; the engine seeds it from where it lies
 * (checking -> seeding) and is the only source for aria2c and then for
 * qbittorrent-nox (libtorrent 2.0, TCP only: we do not speak uTP); both
 * downloads are compared byte for byte; status keeps updating while seeding.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { torrentClient } from '../../lib/engine/index.ts'
import { torrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import {
  type Command,
  type Feedback,
  type TorrentStats,
  createNewTorrent,
  isNewTorrentCreated,
  isTorrentStatusUpdate
} from '../../lib/messages.ts'
import { collect, PushSource } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startAria2Leecher } from '../support/peers/aria2.ts'
import { startQbittorrent } from '../support/peers/qbittorrent.ts'
import { transmissionShow } from '../support/peers/transmission.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'

const SIZE = 16 << 20

test('engine seeds a makeTorrent torrent; aria2c and qbittorrent-nox each download it completely from the engine alone', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('seed-real-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 5 })
  const tracker = await startTracker({ intervalMs: 2000 })
  t.after(() => tracker.close())

  // The .torrent: ours, accepted by Transmission with the same infohash.
  const bytes = await makeTorrent(tree.root, { announce: tracker.httpAnnounce, comment: 'seed-real-clients' })
  const torrentPath = join(tmp.path, 'payload.torrent')
  await writeFile(torrentPath, bytes)
  const meta = await parseMetainfo(bytes)
  assert.ok(meta.ok)
  const { infoHash, pieceCount } = meta.value
  const shown = await transmissionShow(torrentPath)
  assert.equal(shown.hash, infoHash)
  assert.equal(shown.name, 'payload')
  assert.equal(shown.pieceCount, pieceCount)
  assert.equal(shown.files.length, tree.files.length)

  // The engine seeds the data where it lies (its parent folder is the save folder).
  const port = await freePort()
  const service = torrentService(torrentClient({ statusInterval: 200, port, host: '127.0.0.1' }))
  const commands = new PushSource<Command>()
  const out = collect<Feedback>(torrentPatron(service, commands))
  t.after(() => out.dispose())
  commands.event(createNewTorrent(bytes, { savefolder: dirname(tree.root) }))
  const created = await pollUntil(() => out.events.find(isNewTorrentCreated), { timeoutMs: 10_000, what: 'NewTorrentCreated' })
  assert.equal(created.savefolder, dirname(tree.root))
  const statuses = (): TorrentStats[] => out.events.filter(isTorrentStatusUpdate).map((u) => u.statsdictionary)
  await pollUntil(
    () => {
      const s = statuses().at(-1)
      if (s?.activity.startsWith('error')) throw new Error(s.activity)
      return s?.activity === 'seeding'
    },
    { timeoutMs: 20_000, what: 'engine to check and seed', explain: () => JSON.stringify(statuses().at(-1)) }
  )
  const activities = [...new Set(statuses().map((s) => s.activity))]
  assert.ok(activities.includes('checking'), `existing data is checked first: ${activities.join(' -> ')}`)
  const seedingFrom = statuses().length - 1
  const atSeed = statuses()[seedingFrom]!
  assert.equal(atSeed.fractionDone, 1)
  assert.equal(atSeed.piecesDone, pieceCount)
  assert.equal(atSeed.downTotal, 0, 'nothing downloaded: the data was all there')
  await tracker.waitForSeeders(infoHash, 1, 15_000)

  // aria2c: learns the engine from the tracker (the only peer listed), downloads everything.
  const ariaOut = await makeTempDir('seed-real-aria-')
  t.after(() => ariaOut.close())
  const leecher = await startAria2Leecher({ torrentPath, dir: ariaOut.path })
  t.after(() => leecher.close())
  await leecher.waitDone(30_000)
  await leecher.close()
  assert.equal(await compareTrees(tree.root, join(ariaOut.path, 'payload')), undefined)
  const afterAria = statuses().at(-1)!
  assert.ok(afterAria.upTotal >= SIZE, `engine uploaded ${afterAria.upTotal} bytes to aria2c, torrent is ${SIZE}`)

  // qbittorrent-nox: told the engine's address through the Web API.
  const qb = await startQbittorrent({ bitTorrentSettings: ['Session\\BTProtocol=TCP'] })
  t.after(() => qb.close())
  const qbOut = await makeTempDir('seed-real-qb-')
  t.after(() => qbOut.close())
  const enginePeer = `127.0.0.1:${port}`
  await qb.addTorrent(bytes, infoHash, { savePath: qbOut.path })
  await qb.addPeers(infoHash, [enginePeer])
  const done = await qb.waitComplete(infoHash, 30_000, [enginePeer])
  assert.equal(done.progress, 1)
  assert.equal(await compareTrees(tree.root, join(qbOut.path, 'payload')), undefined)
  await qb.close()
  const final = statuses().at(-1)!
  assert.ok(final.upTotal >= 2 * SIZE, `engine uploaded ${final.upTotal} bytes in all: the whole torrent to each of two clients`)

  // Status while seeding: activity stays "seeding", upTotal only grows, peers were seen, upload rate measured.
  const seeding = statuses().slice(seedingFrom)
  for (const s of seeding) assert.equal(s.activity, 'seeding')
  for (let i = 1; i < seeding.length; i++) assert.ok(seeding[i]!.upTotal >= seeding[i - 1]!.upTotal, 'upTotal never goes back')
  assert.ok(new Set(seeding.map((s) => s.upTotal)).size > 2, 'upTotal grows over several updates')
  assert.ok(seeding.some((s) => s.numPeers > 0 && s.upRate > 0), 'some update shows a peer and a non-zero upload rate')
  assert.equal(final.downTotal, 0)
  t.diagnostic(
    `pieces ${pieceCount} x ${meta.value.pieceLength}; uploaded ${final.upTotal} bytes; ` +
      `max numPeers ${Math.max(...seeding.map((s) => s.numPeers))}, max upRate ${Math.max(...seeding.map((s) => s.upRate))}, ` +
      `numCopies seen ${[...new Set(seeding.map((s) => s.numCopies))].slice(0, 5).join(', ')}`
  )
})
