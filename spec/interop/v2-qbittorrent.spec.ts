/**
 * BEP 52 against qbittorrent-nox 4.5.2 (libtorrent 2.0.8): v2-only and hybrid
 * torrents made by the engine, seeded by the engine, downloaded by qBittorrent,
 * byte-identical; a v2-only torrent seeded by qBittorrent downloaded by the
 * engine, also from its .torrent without piece layers. qBittorrent names any
 * torrent with a v2 hash by the first 20 bytes of it; the engine's swarm key
 * for a hybrid stays its v1 hash.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { startQbittorrent } from '../support/peers/qbittorrent.ts'
import { freePort } from '../support/peers/ports.ts'
import { runEngine } from '../support/engine.ts'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { withoutPieceLayers } from '../support/strip-layers.ts'
import { qbSeedingV2 } from '../support/qb-v2.ts'

for (const version of ['v2', 'hybrid'] as const) {
  test(`${version} torrent made and seeded by the engine: qBittorrent downloads it, byte-identical`, { timeout: 180_000 }, async (t) => {
    const tmp = await makeTempDir('h20-qb-')
    t.after(() => tmp.close())
    const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 5 << 20, fileCount: 4 })
    const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:1/announce', pieceLength: 64 * 1024, version })
    const parsed = await parseMetainfo(bytes, { acceptV2Only: true })
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
    const port = await freePort()
    const engine = runEngine(t, { port })
    const id = await engine.create(bytes, join(tmp.path, 'seed'))
    await engine.waitSeeding(id, 60_000)
    const qb = await startQbittorrent({ bitTorrentSettings: ['Session\\BTProtocol=TCP'] })
    t.after(() => qb.close())
    // qBittorrent names a torrent that has a v2 hash (hybrids too) by its first 20 bytes.
    const key = (parsed.value.v2?.infoHash ?? parsed.value.infoHash).slice(0, 40)
    await qb.addTorrent(bytes, key, { savePath: join(tmp.path, 'qb') })
    const info = await qb.waitComplete(key, 150_000, [`127.0.0.1:${port}`])
    assert.equal(info.progress, 1)
    assert.equal(info.size, parsed.value.fileBytes)
    assert.equal(await compareTrees(tree.root, join(tmp.path, 'qb', 'payload')), undefined)
  })
}

for (const bare of [false, true]) {
  test(`a v2-only torrent seeded by qBittorrent: the engine downloads it, byte-identical${bare ? ' (its .torrent without piece layers: the layers from qBittorrent)' : ''}`, { timeout: 180_000 }, async (t) => {
    const tmp = await makeTempDir('h20-qb-')
    t.after(() => tmp.close())
    const { tree, bytes, peer } = await qbSeedingV2(t, tmp.path, { totalBytes: 5 << 20, fileCount: 4 })
    const engine = runEngine(t)
    const id = await engine.create(bare ? withoutPieceLayers(bytes) : bytes, join(tmp.path, 'out'), [peer])
    const done = await engine.waitSeeding(id, 150_000)
    assert.equal(done.version, 'v2')
    assert.equal(done.discarded, 0)
    assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  })
}
