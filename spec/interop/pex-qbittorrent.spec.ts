/**
 * The engine's PEX with libtorrent (qbittorrent-nox, PeX on, TCP only) in
 * between, on 127.0.0.1: qBittorrent is connected to the engine seed X and to
 * the engine leecher Y, which knows nobody. Y learns X from libtorrent's
 * ut_pex, dials it and downloads from it. X runs with `pex: false` so that it
 * cannot learn Y the same way and dial it first.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile, firstDifference } from '../support/peers/data.ts'
import { freePort } from '../support/peers/ports.ts'
import { startQbittorrent } from '../support/peers/qbittorrent.ts'
import { trackerlessTorrent } from '../support/trackerless.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'

test('pex with qbittorrent-nox: Y, known only to qBittorrent, learns the seed X from its ut_pex and downloads from it', { timeout: 90_000 }, async (t) => {
  const tmp = await makeTempDir('eng-pex-qb-')
  t.after(() => tmp.close())
  const seedDir = join(tmp.path, 'x')
  await mkdir(seedDir)
  const file = join(seedDir, 'payload.bin')
  await writeRandomFile(file, 8 << 20)
  const bytes = await trackerlessTorrent(file)
  const parsed = await parseMetainfo(bytes)
  assert.ok(parsed.ok)
  const infoHash = parsed.value.infoHash

  const [portX, portY] = [await freePort(), await freePort()]
  const base = { host: '127.0.0.1', dht: false, pexInterval: 1000 } as const
  // X's upload is capped so that qBittorrent is still downloading (still connected to X) when it tells Y.
  const x = runEngine(t, { ...base, port: portX, pex: false, uploadRateLimit: 1 << 20 })
  await x.waitSeeding(await x.create(bytes, seedDir), 10_000)
  const y = runEngine(t, { ...base, port: portY })
  const yid = await y.create(bytes, join(tmp.path, 'y'))

  const qb = await startQbittorrent({ bitTorrentSettings: ['Session\\BTProtocol=TCP', 'Session\\PeXEnabled=true'] })
  t.after(() => qb.close())
  const out = join(tmp.path, 'qb')
  await mkdir(out)
  await qb.addTorrent(bytes, infoHash, { savePath: out })
  await qb.addPeers(infoHash, [`127.0.0.1:${portX}`, `127.0.0.1:${portY}`])

  await y.waitFor(yid, 'a peer learnt by PEX', (s) => (s.peerSources?.pex ?? 0) >= 1, 40_000)
  assert.equal(y.handles.get(yid)!.peers().find((p) => p.source === 'pex')?.address, `127.0.0.1:${portX}`)
  await y.waitSeeding(yid, 40_000)
  assert.equal(await firstDifference(file, join(tmp.path, 'y', 'payload.bin')), undefined)
  assert.ok((y.handles.get(yid)!.contributed()[`127.0.0.1:${portX}`] ?? 0) > 0, JSON.stringify(y.handles.get(yid)!.contributed()))
})
