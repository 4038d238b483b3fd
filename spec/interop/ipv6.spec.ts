/**
 * IPv6 on ::1: an aria2c seeder found through an HTTP tracker on ::1
 * (bittorrent-tracker's server, which answers IPv6 peers in `peers6`), and
 * engine to engine with the seed listening on ::1 only.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { Server } from 'bittorrent-tracker'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'

const SIZE = 4 << 20

test('an aria2c seeder on ::1 through a tracker that returns peers6', { timeout: 120_000 }, async (t) => {
  const server = new Server({ http: true, udp: false, ws: false, stats: false, interval: 2000 })
  server.on('warning', () => {})
  server.on('error', () => {})
  await new Promise<void>((resolve) => server.listen(0, '::1', () => resolve()))
  t.after(() => new Promise<void>((resolve) => { server.http?.closeAllConnections?.(); server.close(() => resolve()) }))
  const announce = `http://[::1]:${(server.http!.address() as AddressInfo).port}/announce`
  const tmp = await makeTempDir('eng-v6-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 3 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: [announce], pieceLengthLog2: 16 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  const aria = await startAria2Seeder({ torrentPath: made.path, dir: join(tmp.path, 'seed'), extraArgs: ['--disable-ipv6=false', '--bt-external-ip=::1'] })
  t.after(() => aria.process.close())
  await pollUntil(() => (server.torrents[parsed.value.infoHash]?.complete ?? 0) >= 1, { timeoutMs: 20_000, what: 'aria2c registered from ::1' })
  const engine = runEngine(t)
  const id = await engine.create(made.bytes, join(tmp.path, 'out'))
  await engine.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  const contributed = engine.handles.get(id)!.contributed()
  assert.ok(Object.keys(contributed).some((k) => k.startsWith('[::1]:') && contributed[k]! > 0), JSON.stringify(contributed))
})

test('engine to engine over ::1: the seed listens on ::1 only, the leecher dials [::1]:port', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('eng-v6e-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 2 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
  const port = await freePort()
  // TCP only: utp-native 2.5 loops resolving '::1' when it binds.
  const seed = runEngine(t, { port, host: '::1', utp: false })
  const sid = await seed.create(made.bytes, join(tmp.path, 'seed'))
  await seed.waitSeeding(sid, 30_000)
  const leech = runEngine(t)
  const id = await leech.create(made.bytes, join(tmp.path, 'out'), [`[::1]:${port}`])
  await leech.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  assert.deepEqual(Object.keys(leech.handles.get(id)!.contributed()), [`[::1]:${port}`])
  assert.ok(seed.handles.get(sid)!.peers().every((p) => p.address.startsWith('[::1]:')), JSON.stringify(seed.handles.get(sid)!.peers()))
})
