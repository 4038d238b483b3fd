/**
 * BEP 52 end to end against python3-libtorrent 2.0.8 on 127.0.0.1: v2-only and
 * hybrid torrents made by libtorrent downloaded by the engine, and made by the
 * engine downloaded by libtorrent; every file compared byte for byte.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { readFile, writeFile } from 'node:fs/promises'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { startLibtorrent } from '../support/peers/libtorrent.ts'
import { ltMake } from '../support/peers/libtorrent-oracle.ts'
import { runEngine } from '../support/engine.ts'
import { freePort } from '../support/peers/ports.ts'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { closeTorrent } from '../../lib/messages.ts'
import { pollUntil } from '../support/peers/wait.ts'

const SIZE = 6 << 20

for (const version of ['v2', 'hybrid'] as const) {
  test(`${version} torrent made by libtorrent: the engine downloads it from libtorrent, byte-identical`, { timeout: 180_000 }, async (t) => {
    const tmp = await makeTempDir('h20-v2dl-')
    t.after(() => tmp.close())
    // Files of sizes that are not whole pieces, so v2's per-file alignment matters.
    const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 4 })
    const torrentPath = join(tmp.path, 't.torrent')
    const bytes = await ltMake(tree.root, torrentPath, version, 64 * 1024)
    const parsed = await parseMetainfo(bytes, { acceptV2Only: true })
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
    assert.equal(parsed.value.version, version)
    const seeder = await startLibtorrent({ torrent: torrentPath, save: join(tmp.path, 'seed') })
    t.after(() => seeder.close())
    await seeder.waitForStatus(s => s.seeding, 'libtorrent seeding', 60_000)
    // The engine's defaults: uTP raced with TCP, an obfuscated opening first.
    const engine = runEngine(t, {})
    const id = await engine.create(bytes, join(tmp.path, 'out'), [`127.0.0.1:${seeder.port}`])
    const done = await engine.waitSeeding(id, 120_000)
    assert.equal(done.size, parsed.value.fileBytes)
    assert.equal(done.version, version)
    assert.equal(done.infoHashV2, parsed.value.v2?.infoHash)
    assert.equal(done.infoHashV1, version === 'v2' ? undefined : parsed.value.infoHash)
    assert.equal(done.discarded, 0)
    assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  })

  test(`${version} torrent made by the engine: libtorrent downloads it from the engine, byte-identical`, { timeout: 180_000 }, async (t) => {
    const tmp = await makeTempDir('h20-v2up-')
    t.after(() => tmp.close())
    const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 4 })
    const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:1/announce', pieceLength: 64 * 1024, version })
    const torrentPath = join(tmp.path, 't.torrent')
    await writeFile(torrentPath, bytes)
    const port = await freePort()
    const engine = runEngine(t, { port })
    const id = await engine.create(bytes, join(tmp.path, 'seed'))
    await engine.waitSeeding(id, 60_000)
    const leecher = await startLibtorrent({ torrent: torrentPath, save: join(tmp.path, 'lt'), connect: [['127.0.0.1', port]] })
    t.after(() => leecher.close())
    await leecher.waitForStatus(s => s.seeding, 'libtorrent finished', 120_000)
    assert.equal(await compareTrees(tree.root, join(tmp.path, 'lt', 'payload')), undefined)
    assert.ok((await readFile(torrentPath)).length > 0)
  })
}

test('libtorrent\'s v2 .torrent without piece layers, no peer: the torrent waits for the layers with a note and closes cleanly', { timeout: 30_000 }, async (t) => {
  const tmp = await makeTempDir('h20b-v2nlw-')
  t.after(() => tmp.close())
  const dir = join(process.env['PEER_SUITES'] ?? join(import.meta.dirname, '../../../shared/peer-suites'), 'libtorrent-test-torrents')
  const engine = runEngine(t)
  const id = await engine.create(new Uint8Array(await readFile(join(dir, 'v2_no_piece_layers.torrent'))), tmp.path)
  await engine.waitFor(id, 'waiting for the layers', (s) => /^fetching piece layers \(0 of \d+ hash ranges; no connected peer speaks v2\)$/.test(s.activity), 10_000)
  engine.commands.event(closeTorrent(id))
  await pollUntil(() => engine.latest(id)?.activity === 'shut down' ? true : undefined, { timeoutMs: 10_000, what: 'shut down' })
})

test('a hybrid magnet (both xt) fetches its metadata from libtorrent and downloads, byte-identical', { timeout: 180_000 }, async (t) => {
  const tmp = await makeTempDir('h20-v2mag-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 3 << 20, fileCount: 3 })
  const torrentPath = join(tmp.path, 't.torrent')
  const parsed = await parseMetainfo(await ltMake(tree.root, torrentPath, 'hybrid', 32 * 1024))
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  const seeder = await startLibtorrent({ torrent: torrentPath, save: join(tmp.path, 'seed') })
  t.after(() => seeder.close())
  await seeder.waitForStatus(s => s.seeding, 'libtorrent seeding', 60_000)
  const magnet = `magnet:?xt=urn:btih:${parsed.value.infoHash}&xt=urn:btmh:1220${parsed.value.v2?.infoHash ?? ''}&x.pe=127.0.0.1:${seeder.port}`
  const engine = runEngine(t)
  const id = await engine.create(magnet, join(tmp.path, 'out'))
  const done = await engine.waitSeeding(id, 120_000)
  assert.equal(done.version, 'hybrid')
  assert.equal(done.infoHashV2, parsed.value.v2?.infoHash)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
})
