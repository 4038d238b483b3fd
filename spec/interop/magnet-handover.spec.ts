/**
 * A magnet's metadata-phase connection goes over to the torrent proper live:
 * against a real aria2c seeder and a real libtorrent seeder on 127.0.0.1,
 * the magnet's only peer hint, the engine fetches the info dictionary and
 * then every piece over ONE connection to the seeder for the whole run,
 * counted on the seeder's side (aria2c's log of the handshakes it sends,
 * libtorrent's peer log by remote endpoint), and the files are identical.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { startLibtorrent } from '../support/peers/libtorrent.ts'
import { freePort } from '../support/peers/ports.ts'

type T = { after(fn: () => unknown): void }

/** 6 MiB in 32 KiB pieces over 3 files. */
const dataSet = async (t: T, prefix: string) => {
  const tmp = await makeTempDir(prefix)
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 6 << 20, fileCount: 3 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  return { tmp, tree, made, meta: parsed.value }
}

test('magnet from an aria2c seeder: one connection for metadata and data, files identical', { timeout: 120_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 'eng-handover-aria2-')
  const seeder = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root) })
  t.after(() => seeder.close())
  const engine = runEngine(t)
  const out = join(tmp.path, 'out')
  const id = await engine.create(`magnet:?xt=urn:btih:${meta.infoHash}&x.pe=${seeder.peer}`, out)
  await engine.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  const log = await readFile(seeder.detailLogPath, 'utf8')
  // aria2c logs the handshake it sends on each connection (at info level), under the connection's CUID.
  const handshakes = log.split('\n').filter((l) => / - To: \S+ handshake peerId=/.test(l))
  assert.equal(handshakes.length, 1, `aria2c answered ${handshakes.length} connections:\n${handshakes.join('\n')}`)
})

test('magnet from a libtorrent seeder: one connection for metadata and data, files identical', { timeout: 120_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 'eng-handover-lt-')
  const lt = await startLibtorrent({ torrent: made.path, save: dirname(tree.root) })
  t.after(() => lt.close())
  await lt.waitForStatus((s) => s.seeding, 'libtorrent to seed', 30_000)
  const engine = runEngine(t)
  const out = join(tmp.path, 'out')
  const id = await engine.create(`magnet:?xt=urn:btih:${meta.infoHash}&x.pe=127.0.0.1:${lt.port}`, out)
  await engine.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  // Each connection has its own remote endpoint (our ephemeral port): libtorrent logs every message by it.
  const endpoints = new Set((await lt.events()).flatMap((e) => e.type === 'peer_log' ? [e.ip] : []))
  assert.equal(endpoints.size, 1, `libtorrent saw ${endpoints.size} connections: ${[...endpoints].join(', ')}`)
})

test('a libtorrent leecher that dials a magnet serves it the metadata, is handed over (as it came: uTP, MSE) and downloads from it', { timeout: 120_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 'eng-handover-ltl-')
  const port = await freePort()
  const engine = runEngine(t, { port, host: '127.0.0.1' })
  // No peer hint: the metadata comes from the libtorrent leecher that dials us (it has the .torrent, no data).
  const id = await engine.create(`magnet:?xt=urn:btih:${meta.infoHash}`, join(tmp.path, 'out'))
  const lt = await startLibtorrent({ torrent: made.path, save: join(tmp.path, 'lt'), connect: [['127.0.0.1', port]] })
  t.after(() => lt.close())
  const adopted = await engine.waitFor(id, 'the torrent to run over libtorrent\'s connection', (s) => s.activity !== 'fetching metadata' && s.numPeers === 1, 30_000)
  assert.equal(adopted.peerSources?.incoming, 1)
  // An engine seeder dials us; libtorrent gets every piece through us, over the same connection.
  const seeder = runEngine(t, { port: await freePort(), host: '127.0.0.1' })
  await seeder.create(made.bytes, dirname(tree.root), [`127.0.0.1:${port}`])
  await lt.waitForStatus((s) => s.seeding, 'libtorrent to complete', 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'lt', 'payload')), undefined)
  // Our extended handshake again, with the metadata's size, once the torrent took the connection.
  const log = await lt.wireLog()
  const handshakes = log.filter((m) => /<== EXTENDED_HANDSHAKE/.test(m))
  assert.ok(handshakes.length >= 2 && handshakes.some((m) => m.includes(`'metadata_size': ${meta.infoBytes.length}`)), `libtorrent's log:\n${handshakes.join('\n')}`)
})
