/**
 * The engine's own UDP tracker client against a real tracker: an aria2c seeder
 * registers with opentracker (over HTTP, as aria2c settles on), the engine
 * knows the tracker only by its udp:// URL, finds the seeder through it and
 * downloads; its stats carry the tracker's note. Over IPv6: an engine seed
 * announces to a UDP tracker on ::1 (bittorrent-tracker's server; Debian's
 * opentracker is built for IPv4 only) and a second engine finds it there.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startOpentracker } from '../support/peers/opentracker.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { freePort } from '../support/peers/ports.ts'
import { Server, type ServerAnnounceParams } from 'bittorrent-tracker'
import type { Socket as UdpSocket } from 'node:dgram'

const SIZE = 4 << 20

test('the engine finds an aria2c seeder through opentracker over UDP (127.0.0.1) and downloads', { timeout: 120_000 }, async (t) => {
  const tracker = await startOpentracker()
  t.after(() => tracker.close())
  const tmp = await makeTempDir('eng-udp-tr-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 3 })
  const seedTorrent = await mktorrent(tree.root, join(tmp.path, 'seed.torrent'), { announce: [tracker.httpAnnounce], pieceLengthLog2: 16 })
  const meta = await parseMetainfo(seedTorrent.bytes)
  assert.ok(meta.ok)
  await tracker.allow(meta.value.infoHash)
  const seeder = await startAria2Seeder({ torrentPath: seedTorrent.path, dir: dirname(tree.root) })
  t.after(() => seeder.close())
  await pollUntil(async () => (await tracker.scrape(meta.value.infoHash)).complete >= 1, { timeoutMs: 20_000, what: 'aria2c listed' })
  // The same info dictionary (same info hash), announced to the tracker's UDP side only.
  const leechTorrent = await mktorrent(tree.root, join(tmp.path, 'leech.torrent'), { announce: [tracker.udpAnnounce], pieceLengthLog2: 16 })
  const leechMeta = await parseMetainfo(leechTorrent.bytes)
  assert.ok(leechMeta.ok)
  assert.equal(leechMeta.value.infoHash, meta.value.infoHash)
  const engine = runEngine(t)
  const id = await engine.create(leechTorrent.bytes, join(tmp.path, 'out'))
  const done = await engine.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  // No peer given, DHT off: the seeder came from the tracker's UDP answer.
  assert.ok(Object.keys(engine.handles.get(id)!.contributed()).includes(seeder.peer), JSON.stringify(engine.handles.get(id)!.contributed()))
  const note = done.trackers?.[0]
  assert.equal(note?.url, tracker.udpAnnounce)
  assert.equal(note?.state, 'working', JSON.stringify(done.trackers))
  assert.ok((note?.peers ?? 0) >= 1)
})

test('UDP over IPv6: an engine seed on ::1 announces to udp://[::1] (bittorrent-tracker\'s server); a leecher finds it in that tracker\'s peers6', { timeout: 120_000 }, async (t) => {
  const port = await freePort('both')
  const server = new Server({ http: true, udp: true, ws: false, stats: false, interval: 2000 })
  server.on('warning', () => {})
  server.on('error', () => {})
  const udpFrom: string[] = []
  server.on('start', (_addr: string, params: ServerAnnounceParams) => { if (params.type === 'udp') udpFrom.push(String(params.ip)) })
  await new Promise<void>((resolve) => {
    let n = 0
    const one = (): void => { if (++n === 3) resolve() }
    server.http!.once('listening', one)
    ;(server.udp4 as UdpSocket).once('listening', one)
    ;(server.udp6 as UdpSocket).once('listening', one)
    server.listen({ http: port, udp: port }, { http: '::1', udp: '127.0.0.1', udp6: '::1' })
  })
  t.after(() => new Promise<void>((resolve) => { server.http?.closeAllConnections?.(); server.close(() => resolve()) }))
  const tmp = await makeTempDir('eng-udp6-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 2 })
  const seedTorrent = await mktorrent(tree.root, join(tmp.path, 'seed.torrent'), { announce: [`udp://[::1]:${port}`], pieceLengthLog2: 16 })
  const leechTorrent = await mktorrent(tree.root, join(tmp.path, 'leech.torrent'), { announce: [`http://[::1]:${port}/announce`], pieceLengthLog2: 16 })
  const meta = await parseMetainfo(seedTorrent.bytes)
  assert.ok(meta.ok)
  const seedPort = await freePort()
  // TCP only: utp-native 2.5 loops resolving '::1' when it binds.
  const seed = runEngine(t, { port: seedPort, host: '::1', utp: false })
  const sid = await seed.create(seedTorrent.bytes, join(tmp.path, 'seed'))
  await seed.waitFor(sid, 'the UDP announce answered', (s) => s.trackers?.[0]?.state === 'working', 30_000)
  assert.deepEqual(udpFrom, ['::1'])
  await pollUntil(() => (server.torrents[meta.value.infoHash]?.complete ?? 0) >= 1, { timeoutMs: 10_000, what: 'the seed listed' })
  const leech = runEngine(t)
  const id = await leech.create(leechTorrent.bytes, join(tmp.path, 'out'))
  await leech.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  assert.deepEqual(Object.keys(leech.handles.get(id)!.contributed()), [`[::1]:${seedPort}`])
})
