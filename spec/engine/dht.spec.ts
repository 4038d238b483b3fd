/**
 * The engine finds peers through the DHT (BEP 5), on a DHT made only of nodes
 * on 127.0.0.1 (a local bootstrap node and the engines' own nodes): torrents
 * with no tracker and no peer list download all the same. Also: the routing
 * table saved on dispose lets a restarted engine with no bootstrap find the
 * peer; a private torrent is never announced nor looked up; `dht: false` (or
 * the TORRENT_PATRON_DHT=off default) opens no UDP socket. Every datagram of
 * this file goes to 127.0.0.1.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import DHT from 'bittorrent-dht'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile, firstDifference } from '../support/peers/data.ts'
import { pollUntil, sleep } from '../support/peers/wait.ts'
import { freePort } from '../support/peers/ports.ts'
import { trackerlessTorrent, recordUdpDestinations, countUdpSockets } from '../support/trackerless.ts'
import { createDht, loadDhtState, type Dht } from '../../lib/engine/swarm/dht.ts'
import { resolveDhtOption } from '../../lib/engine/swarm/client-dht.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'

const udp = recordUdpDestinations()

async function bootstrapNode (t: { after(fn: () => unknown): void }): Promise<{ node: Dht; bootstrap: string[] }> {
  const node = createDht({ bootstrap: [], host: '127.0.0.1' })
  t.after(() => node.destroy())
  await node.ready
  return { node, bootstrap: [`127.0.0.1:${node.port}`] }
}

async function infoHashOf (bytes: Uint8Array): Promise<string> {
  const r = await parseMetainfo(bytes)
  assert.ok(r.ok)
  return r.value.infoHash
}

test('dht: the ClientOptions.dht default is on, TORRENT_PATRON_DHT=off turns it off, an explicit option wins', () => {
  assert.deepEqual(resolveDhtOption(undefined, {}), {})
  assert.equal(resolveDhtOption(undefined, { TORRENT_PATRON_DHT: 'off' }), null)
  assert.equal(resolveDhtOption(undefined, { TORRENT_PATRON_DHT: 'OFF ' }), null)
  assert.deepEqual(resolveDhtOption(undefined, { TORRENT_PATRON_DHT: 'on' }), {})
  assert.deepEqual(resolveDhtOption(true, { TORRENT_PATRON_DHT: 'off' }), {})
  assert.deepEqual(resolveDhtOption({ port: 7 }, { TORRENT_PATRON_DHT: 'off' }), { port: 7 })
  assert.equal(resolveDhtOption(false, {}), null)
})

test('dht: a trackerless .torrent downloads from a seeder found only through the DHT; the saved routing table alone finds it again', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('eng-dht-')
  t.after(() => tmp.close())
  const { bootstrap } = await bootstrapNode(t)
  const seedDir = join(tmp.path, 'seed')
  await mkdir(seedDir)
  const file = join(seedDir, 'payload.bin')
  await writeRandomFile(file, 3 << 20)
  const bytes = await trackerlessTorrent(file)

  const seeder = runEngine(t, { host: '127.0.0.1', dht: { bootstrap, host: '127.0.0.1', stateFile: join(tmp.path, 'seeder-dht.json') } })
  const sid = await seeder.create(bytes, seedDir)
  await seeder.waitSeeding(sid, 10_000)

  // Throttled so that the connection (and its count under 'dht') lasts a few status updates.
  const stateFile = join(tmp.path, 'leecher-dht.json')
  const leecherOptions = { host: '127.0.0.1', torrentDownloadRateLimit: 1 << 20 }
  const leecher = runEngine(t, { ...leecherOptions, dht: { bootstrap, host: '127.0.0.1', stateFile } })
  const out1 = join(tmp.path, 'out1')
  const lid = await leecher.create(bytes, out1)
  const during = await leecher.waitFor(lid, 'a peer from the DHT', (s) => (s.peerSources?.dht ?? 0) >= 1, 30_000)
  assert.equal(during.peerSources?.manual, 0)
  assert.equal(during.peerSources?.tracker, 0)
  await leecher.waitSeeding(lid, 30_000)
  assert.equal(await firstDifference(file, join(out1, 'payload.bin')), undefined)

  // Dispose saves the routing table.
  leecher.out.dispose()
  const state = await pollUntil(() => loadDhtState(stateFile).then((s) => s !== null && s.nodes.length > 0 ? s : undefined), {
    timeoutMs: 10_000, what: 'routing table saved on dispose'
  })
  assert.ok(state.nodes.some((n) => `127.0.0.1:${n.port}` === bootstrap[0]), JSON.stringify(state))

  // A new engine with no bootstrap at all: only the saved contacts.
  const again = runEngine(t, { ...leecherOptions, dht: { bootstrap: [], host: '127.0.0.1', stateFile } })
  const out2 = join(tmp.path, 'out2')
  const rid = await again.create(bytes, out2)
  await again.waitFor(rid, 'a peer from the DHT (restarted)', (s) => (s.peerSources?.dht ?? 0) >= 1, 30_000)
  await again.waitSeeding(rid, 30_000)
  assert.equal(await firstDifference(file, join(out2, 'payload.bin')), undefined)
})

test('dht: a magnet with no tracker and no peer hint: metadata and data come through the DHT', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('eng-dht-magnet-')
  t.after(() => tmp.close())
  const { bootstrap } = await bootstrapNode(t)
  const seedDir = join(tmp.path, 'seed')
  await mkdir(seedDir)
  const file = join(seedDir, 'payload.bin')
  await writeRandomFile(file, 2 << 20)
  const bytes = await trackerlessTorrent(file)
  const infoHash = await infoHashOf(bytes)

  const seeder = runEngine(t, { host: '127.0.0.1', dht: { bootstrap, host: '127.0.0.1', stateFile: join(tmp.path, 'seeder-dht.json') } })
  await seeder.waitSeeding(await seeder.create(bytes, seedDir), 10_000)

  const leecher = runEngine(t, {
    host: '127.0.0.1',
    torrentDownloadRateLimit: 1 << 20,
    dht: { bootstrap, host: '127.0.0.1', stateFile: join(tmp.path, 'leecher-dht.json') }
  })
  const out = join(tmp.path, 'out')
  const id = await leecher.create(`magnet:?xt=urn:btih:${infoHash}`, out)
  const fetching = await leecher.waitFor(id, 'a DHT peer', (s) => (s.peerSources?.dht ?? 0) >= 1, 30_000)
  assert.equal(fetching.peerSources?.manual, 0)
  // Past the metadata phase: the torrent proper knows its size and again counts the seeder under 'dht'.
  await leecher.waitFor(id, 'downloading from a DHT peer', (s) => s.piecesTotal > 0 && (s.peerSources?.dht ?? 0) >= 1, 30_000)
  await leecher.waitSeeding(id, 30_000)
  assert.equal(await firstDifference(file, join(out, 'payload.bin')), undefined)
})

test('dht: peers swap DHT ports on the wire (BEP 5 PORT): a lone node learns the seeder\'s node from it', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('eng-dht-port-')
  t.after(() => tmp.close())
  const seedDir = join(tmp.path, 'seed')
  await mkdir(seedDir)
  const file = join(seedDir, 'payload.bin')
  await writeRandomFile(file, 256 << 10)
  const bytes = await trackerlessTorrent(file)
  const seederDhtPort = await freePort('both')
  const seederTcp = await freePort()
  // Neither node has a bootstrap: the only way the leecher's table gets a node is the seeder's PORT message.
  const seeder = runEngine(t, { host: '127.0.0.1', port: seederTcp, dht: { bootstrap: [], host: '127.0.0.1', port: seederDhtPort, stateFile: join(tmp.path, 's.json') } })
  await seeder.waitSeeding(await seeder.create(bytes, seedDir), 10_000)
  const stateFile = join(tmp.path, 'l.json')
  const leecher = runEngine(t, { host: '127.0.0.1', dht: { bootstrap: [], host: '127.0.0.1', stateFile } })
  const lid = await leecher.create(bytes, join(tmp.path, 'out'), [`127.0.0.1:${seederTcp}`])
  await leecher.waitSeeding(lid, 20_000)
  // Its table is saved on dispose only when it holds a node: the pinged seeder's.
  await sleep(1000)
  leecher.out.dispose()
  const state = await pollUntil(() => loadDhtState(stateFile).then((s) => s ?? undefined), { timeoutMs: 10_000, what: 'routing table saved' })
  assert.deepEqual(state.nodes.map((n) => `${n.host}:${n.port}`), [`127.0.0.1:${seederDhtPort}`])
})

test('dht: a private torrent is never announced nor looked up; a public one beside it is', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('eng-dht-priv-')
  t.after(() => tmp.close())
  // A raw bittorrent-dht node as bootstrap: it reports every get_peers and announce it receives.
  const boot = new DHT({ bootstrap: false, host: '127.0.0.1' })
  t.after(() => new Promise<void>((resolve) => boot.destroy(() => resolve())))
  await new Promise<void>((resolve) => boot.listen(0, '127.0.0.1', resolve))
  const asked = new Set<string>()
  const announced = new Map<string, number>()
  boot.on('get_peers', (ih) => asked.add(Buffer.from(ih).toString('hex')))
  boot.on('announce', (peer, ih) => announced.set(Buffer.from(ih).toString('hex'), peer.port))
  const bootstrap = [`127.0.0.1:${boot.address().port}`]

  const dir = join(tmp.path, 'seed')
  await mkdir(dir)
  await writeRandomFile(join(dir, 'private.bin'), 256 << 10)
  await writeRandomFile(join(dir, 'public.bin'), 256 << 10)
  const priv = await trackerlessTorrent(join(dir, 'private.bin'), { private: true })
  const pub = await trackerlessTorrent(join(dir, 'public.bin'))
  const privHash = await infoHashOf(priv)
  const pubHash = await infoHashOf(pub)

  const seeder = runEngine(t, { host: '127.0.0.1', dht: { bootstrap, host: '127.0.0.1', stateFile: join(tmp.path, 'dht.json') } })
  // The private one first: it would be announced no later than the public one.
  const privId = await seeder.create(priv, dir)
  const pubId = await seeder.create(pub, dir)
  await seeder.waitSeeding(privId, 10_000)
  await seeder.waitSeeding(pubId, 10_000)
  const port = await pollUntil(() => announced.get(pubHash), { timeoutMs: 20_000, what: 'the public torrent announced' })
  assert.ok(asked.has(pubHash), 'the public torrent was looked up')
  assert.equal(announced.has(privHash), false, 'the private torrent was announced')
  assert.equal(asked.has(privHash), false, 'the private torrent was looked up')

  // And the DHT has no peer for it: a probe finds the seeder for the public torrent only.
  const probe = createDht({ bootstrap, host: '127.0.0.1' })
  t.after(() => probe.destroy())
  await probe.ready
  const found: string[] = []
  probe.on('peer', (p, ih) => found.push(`${ih}@${p.port}`))
  await probe.lookup(pubHash)
  await probe.lookup(privHash)
  assert.ok(found.includes(`${pubHash}@${port}`), JSON.stringify(found))
  assert.equal(found.filter((f) => f.startsWith(privHash)).length, 0, JSON.stringify(found))
})

test('dht: false, or no option with TORRENT_PATRON_DHT=off, opens no UDP socket', { timeout: 30_000 }, async (t) => {
  const tmp = await makeTempDir('eng-dht-off-')
  t.after(() => tmp.close())
  await writeRandomFile(join(tmp.path, 'a.bin'), 64 << 10)
  const bytes = await trackerlessTorrent(join(tmp.path, 'a.bin'))
  const sockets = countUdpSockets()
  t.after(() => sockets.restore())

  const off = runEngine(t, { host: '127.0.0.1', dht: false })
  await off.waitSeeding(await off.create(bytes, tmp.path), 10_000)
  const saved = process.env.TORRENT_PATRON_DHT
  process.env.TORRENT_PATRON_DHT = 'off'
  let byEnv
  try {
    byEnv = runEngine(t, { host: '127.0.0.1', downloadFolder: tmp.path })
  } finally {
    if (saved === undefined) delete process.env.TORRENT_PATRON_DHT
    else process.env.TORRENT_PATRON_DHT = saved
  }
  await byEnv.waitSeeding(await byEnv.create(bytes, tmp.path), 10_000)
  assert.equal(sockets.count(), 0)

  // The counter does see a DHT's socket.
  const on = runEngine(t, { host: '127.0.0.1', dht: { bootstrap: [], host: '127.0.0.1', stateFile: join(tmp.path, 'dht.json') } })
  await on.create(bytes, join(tmp.path, 'other'))
  await pollUntil(() => sockets.count() > 0 || undefined, { timeoutMs: 5000, what: 'a UDP socket for the DHT' })
})

test('dht: every datagram of this file went to 127.0.0.1', () => {
  assert.ok(udp.hosts().length > 0, 'the recorder saw traffic')
  assert.deepEqual(udp.hosts(), ['127.0.0.1'])
})
