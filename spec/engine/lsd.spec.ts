/**
 * Opt-in local service discovery (BEP 14) between real engines, on loopback
 * multicast (interface 127.0.0.1, a free group port): the seeder hears the
 * leecher's announce and connects to it; a private torrent is never announced.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile, firstDifference } from '../support/peers/data.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { trackerlessTorrent, recordUdpDestinations } from '../support/trackerless.ts'
import { createLsd, LSD_GROUP } from '../../lib/engine/swarm/lsd.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'

const udp = recordUdpDestinations()

async function infoHashOf (bytes: Uint8Array): Promise<string> {
  const r = await parseMetainfo(bytes)
  assert.ok(r.ok)
  return r.value.infoHash
}

test('lsd: the seeder hears the leecher on the LAN and serves it; a private torrent is never announced', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('eng-lsd-')
  t.after(() => tmp.close())
  const groupPort = await freePort('both')
  const lsd = { interface: '127.0.0.1', groupPort }
  const dir = join(tmp.path, 'seed')
  await mkdir(dir)
  await writeRandomFile(join(dir, 'public.bin'), 2 << 20)
  await writeRandomFile(join(dir, 'private.bin'), 64 << 10)
  const pub = await trackerlessTorrent(join(dir, 'public.bin'))
  const priv = await trackerlessTorrent(join(dir, 'private.bin'), { private: true })
  const pubHash = await infoHashOf(pub)
  const privHash = await infoHashOf(priv)

  // A listener on the group records every infohash announced.
  const probe = createLsd({ port: 1, ...lsd })
  t.after(() => probe.destroy())
  await probe.ready
  const heard = new Map<string, string>()
  probe.on('peer', (addr, ih) => heard.set(ih, addr))

  const seederPort = await freePort()
  const seeder = runEngine(t, { host: '127.0.0.1', port: seederPort, dht: false, lsd })
  const privId = await seeder.create(priv, dir)
  const pubId = await seeder.create(pub, dir)
  await seeder.waitSeeding(privId, 10_000)
  await seeder.waitSeeding(pubId, 10_000)
  assert.equal(await pollUntil(() => heard.get(pubHash), { timeoutMs: 10_000, what: 'the public torrent announced' }), `127.0.0.1:${seederPort}`)

  const leecher = runEngine(t, { host: '127.0.0.1', dht: false, lsd, torrentDownloadRateLimit: 1 << 20 })
  const out = join(tmp.path, 'out')
  const lid = await leecher.create(pub, out)
  await seeder.waitFor(pubId, 'a peer found by LSD', (s) => (s.peerSources?.lsd ?? 0) >= 1, 20_000)
  await leecher.waitSeeding(lid, 30_000)
  assert.equal(await firstDifference(join(dir, 'public.bin'), join(out, 'public.bin')), undefined)
  assert.equal(heard.has(privHash), false, 'the private torrent was announced')
})

test('lsd: datagrams went only to the multicast group, on the loopback interface', () => {
  assert.deepEqual(udp.hosts(), [LSD_GROUP])
})
