/**
 * Magnet links against real clients on 127.0.0.1: the magnet's only peer
 * hint (`x.pe`) is an aria2c or a qbittorrent-nox (libtorrent) seeder; the
 * engine fetches the info dictionary from it with ut_metadata, then the data.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { startQbittorrent } from '../support/peers/qbittorrent.ts'
import { isTorrentStatusUpdate } from '../../lib/messages.ts'

type T = { after(fn: () => unknown): void }

/** 28 MiB in 32 KiB pieces: 896 hashes, the info dictionary spans two metadata pieces. */
const dataSet = async (t: T, prefix: string) => {
  const tmp = await makeTempDir(prefix)
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 28 << 20, fileCount: 4 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  assert.ok(parsed.value.infoBytes.length > 16384, 'two metadata pieces')
  return { tmp, tree, made, meta: parsed.value }
}

/** Download `magnet` with a fresh engine into `out`; checks the phases and the files. */
const fetchMagnet = async (t: T, magnet: string, out: string, root: string) => {
  const engine = runEngine(t)
  const id = await engine.create(magnet, out)
  await engine.waitSeeding(id, 60_000)
  assert.equal(await compareTrees(root, join(out, 'payload')), undefined)
  const first = engine.out.events.find((e) => isTorrentStatusUpdate(e) && e.torrentid === id)
  assert.equal(first && isTorrentStatusUpdate(first) ? first.statsdictionary.activity : undefined, 'fetching metadata')
}

test('magnet whose peer hint is an aria2c seeder: metadata and data, files identical', { timeout: 90_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 'eng-magnet-aria2-')
  const seeder = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root) })
  t.after(() => seeder.close())
  await fetchMagnet(t, `magnet:?xt=urn:btih:${meta.infoHash}&x.pe=${seeder.peer}`, join(tmp.path, 'out'), tree.root)
})

test('magnet whose peer hint is a qbittorrent-nox seeder: metadata and data, files identical', { timeout: 90_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 'eng-magnet-qb-')
  // libtorrent dials uTP first; we speak TCP only (see spec/interop/ut-metadata-qbittorrent.spec.ts).
  const qb = await startQbittorrent({ bitTorrentSettings: ['Session\\BTProtocol=TCP'] })
  t.after(() => qb.close())
  await qb.addTorrent(made.bytes, meta.infoHash, { savePath: dirname(tree.root), skipChecking: true })
  await qb.waitComplete(meta.infoHash, 20_000)
  await fetchMagnet(t, `magnet:?xt=urn:btih:${meta.infoHash}&dn=payload&x.pe=${qb.peer}`, join(tmp.path, 'out'), tree.root)
})
