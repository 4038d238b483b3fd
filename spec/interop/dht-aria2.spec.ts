/**
 * The engine's DHT against aria2c's (its own BEP 5 implementation), on a DHT
 * of nodes on 127.0.0.1 only: a local bootstrap node is every party's entry
 * point, and the torrent has no tracker. Both ways: the engine finds an aria2c
 * seeder, and an aria2c leecher finds the engine's seed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir, writeFile } from 'node:fs/promises'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile, firstDifference } from '../support/peers/data.ts'
import { freePort } from '../support/peers/ports.ts'
import { startAria2Leecher, startAria2Seeder } from '../support/peers/aria2.ts'
import { trackerlessTorrent, recordUdpDestinations } from '../support/trackerless.ts'
import { createDht } from '../../lib/engine/swarm/dht.ts'

const udp = recordUdpDestinations()

/** A trackerless torrent of a 1 MiB file, a local bootstrap node, and aria2c DHT options pointing at it. */
async function setUp (t: { after(fn: () => unknown): void }, prefix: string) {
  const tmp = await makeTempDir(prefix)
  t.after(() => tmp.close())
  const boot = createDht({ bootstrap: [], host: '127.0.0.1' })
  t.after(() => boot.destroy())
  await boot.ready
  const seedDir = join(tmp.path, 'seed')
  await mkdir(seedDir)
  const file = join(seedDir, 'payload.bin')
  await writeRandomFile(file, 1 << 20)
  const bytes = await trackerlessTorrent(file)
  const torrentPath = join(tmp.path, 't.torrent')
  await writeFile(torrentPath, bytes)
  const ariaDht = [
    '--enable-dht=true',
    `--dht-listen-port=${await freePort('both')}`,
    `--dht-entry-point=127.0.0.1:${boot.port}`,
    `--dht-file-path=${join(tmp.path, 'aria2-dht.dat')}`
  ]
  const dht = { bootstrap: [`127.0.0.1:${boot.port}`], host: '127.0.0.1', stateFile: join(tmp.path, 'engine-dht.json') }
  return { tmp, seedDir, file, bytes, torrentPath, ariaDht, dht }
}

test('dht with aria2c: the engine finds an aria2c seeder through the DHT alone', { timeout: 90_000 }, async (t) => {
  const { tmp, seedDir, file, bytes, torrentPath, ariaDht, dht } = await setUp(t, 'eng-dht-aria2-seed-')
  const aria = await startAria2Seeder({ torrentPath, dir: seedDir, extraArgs: ariaDht })
  t.after(() => aria.close())
  const leecher = runEngine(t, { host: '127.0.0.1', dht })
  const out = join(tmp.path, 'out')
  const id = await leecher.create(bytes, out)
  await leecher.waitSeeding(id, 60_000)
  assert.equal(await firstDifference(file, join(out, 'payload.bin')), undefined)
  assert.equal(leecher.handles.get(id)!.contributed()[aria.peer], 1 << 20)
})

test('dht with aria2c: an aria2c leecher finds the engine\'s seed through the DHT alone', { timeout: 90_000 }, async (t) => {
  const { tmp, seedDir, file, bytes, torrentPath, ariaDht, dht } = await setUp(t, 'eng-dht-aria2-leech-')
  const seeder = runEngine(t, { host: '127.0.0.1', dht })
  const sid = await seeder.create(bytes, seedDir)
  await seeder.waitSeeding(sid, 10_000)
  const out = join(tmp.path, 'out')
  await mkdir(out)
  const aria = await startAria2Leecher({ torrentPath, dir: out, extraArgs: ariaDht })
  t.after(() => aria.close())
  await aria.waitDone(60_000)
  assert.equal(await firstDifference(file, join(out, 'payload.bin')), undefined)
  const up = await seeder.waitFor(sid, 'upload counted', (s) => s.upTotal >= 1 << 20, 5000)
  assert.ok(up.upTotal >= 1 << 20)
})

test('dht with aria2c: every datagram the test process sent went to 127.0.0.1', () => {
  assert.ok(udp.hosts().length > 0)
  assert.deepEqual(udp.hosts(), ['127.0.0.1'])
})
