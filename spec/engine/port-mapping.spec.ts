/**
 * The engine runs on when the router's answers are bad: a leecher whose
 * port mapping meets NAT-PMP / PCP garbage and a UPnP router serving junk
 * XML (fakes on loopback) still downloads from a seeder, and its stats say
 * why nothing was mapped. (The real router path: spec/interop/port-mapping.spec.ts.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile, firstDifference } from '../support/peers/data.ts'
import { freePort } from '../support/peers/ports.ts'
import { trackerlessTorrent } from '../support/trackerless.ts'
import { fakeIgd, fakeNatPmp } from '../support/fake-router.ts'

test('garbage from NAT-PMP / PCP and junk XML from UPnP: not mapped, with both reasons, and the download completes', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('t15n-pm-')
  t.after(() => tmp.close())
  const gw = await fakeNatPmp('garbage')
  const igd = await fakeIgd({ ssdp: 'ok', description: 'junk', control: 'ok' })
  t.after(() => Promise.all([gw.close(), igd.close()]))
  const seedDir = join(tmp.path, 'seed')
  const leechDir = join(tmp.path, 'leech')
  await mkdir(seedDir)
  await mkdir(leechDir)
  await writeRandomFile(join(seedDir, 'payload.bin'), 1024 * 1024 + 5)
  const bytes = await trackerlessTorrent(join(seedDir, 'payload.bin'))
  const base = { host: '127.0.0.1', dht: false as const, utp: false }
  const seedPort = await freePort()
  const seeder = runEngine(t, { ...base, port: seedPort })
  const seedId = await seeder.create(bytes, seedDir)
  await seeder.waitSeeding(seedId, 10_000)
  // the library maps nothing unless asked
  assert.equal(seeder.latest(seedId)?.portMapping, 'off')
  const leecher = runEngine(t, { ...base, portMapping: { gateway: '127.0.0.1', natPmpPort: gw.port, ssdpTarget: igd.ssdpTarget } })
  const id = await leecher.create(bytes, leechDir, [`127.0.0.1:${seedPort}`])
  await leecher.waitSeeding(id, 60_000)
  assert.equal(await firstDifference(join(seedDir, 'payload.bin'), join(leechDir, 'payload.bin')), undefined)
  const s = await leecher.waitFor(id, 'the mapping attempt over', (x) => x.portMapping !== 'mapping', 30_000)
  assert.match(s.portMapping ?? '', /^not mapped \(pcp: malformed replies only .*; natpmp: malformed replies only .*; upnp: description .* names no WANIPConnection or WANPPPConnection service\)$/)
})
