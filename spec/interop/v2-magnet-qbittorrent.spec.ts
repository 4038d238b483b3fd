/**
 * A v2-only magnet against qbittorrent-nox 4.5.2 (libtorrent 2.0) on
 * 127.0.0.1: the info dictionary with ut_metadata and every piece layer with
 * BEP 52 hash requests from qBittorrent, then the data, compared byte for byte;
 * and a v2-only .torrent whose piece layers were removed, its layers fetched the same way.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { startQbittorrent } from '../support/peers/qbittorrent.ts'
import { runEngine } from '../support/engine.ts'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { withoutPieceLayers } from '../support/strip-layers.ts'

test('v2-only magnet: metadata and piece layers from qBittorrent, then the data, byte-identical', { timeout: 180_000 }, async (t) => {
  const tmp = await makeTempDir('t20-qbmag-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { sizes: [2_500_000, 700_001, 30_000] })
  const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:1/announce', pieceLength: 32 * 1024, version: 'v2' })
  const parsed = await parseMetainfo(bytes, { acceptV2Only: true })
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  const qb = await startQbittorrent({ bitTorrentSettings: ['Session\\BTProtocol=TCP'] })
  t.after(() => qb.close())
  await qb.addTorrent(bytes, parsed.value.infoHash, { savePath: join(tmp.path, 'seed'), skipChecking: true })
  await qb.waitComplete(parsed.value.infoHash, 30_000)
  const engine = runEngine(t, { utp: false, outgoingEncryption: 'disabled' })
  const id = await engine.create(`magnet:?xt=urn:btmh:1220${parsed.value.v2?.infoHash ?? ''}&x.pe=${qb.peer}`, join(tmp.path, 'out'))
  const done = await engine.waitSeeding(id, 150_000)
  assert.equal(done.version, 'v2')
  assert.equal(done.infoHashV2, parsed.value.v2?.infoHash)
  assert.equal(done.discarded, 0)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
})

test('v2-only .torrent without its piece layers: the layers from qBittorrent, then the data, byte-identical', { timeout: 180_000 }, async (t) => {
  const tmp = await makeTempDir('h20b-qbnl-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { sizes: [1_800_000, 500_001, 20_000] })
  const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:1/announce', pieceLength: 32 * 1024, version: 'v2' })
  const parsed = await parseMetainfo(bytes, { acceptV2Only: true })
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  const qb = await startQbittorrent({ bitTorrentSettings: ['Session\\BTProtocol=TCP'] })
  t.after(() => qb.close())
  await qb.addTorrent(bytes, parsed.value.infoHash, { savePath: join(tmp.path, 'seed'), skipChecking: true })
  await qb.waitComplete(parsed.value.infoHash, 30_000)
  const engine = runEngine(t, { utp: false, outgoingEncryption: 'disabled' })
  const id = await engine.create(withoutPieceLayers(bytes), join(tmp.path, 'out'), [qb.peer])
  const done = await engine.waitSeeding(id, 150_000)
  assert.equal(done.version, 'v2')
  assert.equal(done.discarded, 0)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
})
