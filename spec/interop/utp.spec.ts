/**
 * uTP between real engines: a uTP-only seeder and a uTP-only leecher (TCP
 * refused both ways) move a torrent byte-identical, and the stats name the
 * transport; the same over a link of 50 ms delay and 1% loss each way (the
 * user-space relay of spec/support/udp-relay.ts); a default engine (both
 * transports) against a uTP-only one connects over uTP; a default pair keeps
 * one connection per peer; a magnet fetched by a uTP-only leecher from a
 * uTP-only seeder (metadata phase and data over uTP).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { freePort } from '../support/peers/ports.ts'
import { udpRelay } from '../support/udp-relay.ts'
import type { ClientOptions } from '../../lib/engine/index.ts'
import { isTorrentStatusUpdate, type TorrentStats } from '../../lib/messages.ts'

/** Every stats dictionary an engine reported for `id`. */
const history = (engine: { out: { events: unknown[] } }, id: string): TorrentStats[] =>
  (engine.out.events as Parameters<typeof isTorrentStatusUpdate>[0][]).filter(isTorrentStatusUpdate).filter((m) => m.torrentid === id).map((m) => m.statsdictionary)

type T = { after(fn: () => unknown): void }

/** A seeding engine on 127.0.0.1 with a random single-file torrent of `size` bytes. */
const seeder = async (t: T, size: number, options: ClientOptions) => {
  const tmp = await makeTempDir('h15-utp-')
  t.after(() => tmp.close())
  const file = join(tmp.path, 'seed', 'payload.bin')
  await mkdir(dirname(file), { recursive: true })
  await writeRandomFile(file, size)
  const bytes = await makeTorrent(file, { announce: 'http://127.0.0.1:1/announce', pieceLength: 65536 })
  const port = await freePort('both')
  const engine = runEngine(t, { port, host: '127.0.0.1', ...options })
  const id = await engine.create(bytes, dirname(file))
  await engine.waitSeeding(id, 30_000)
  return { tmp, port, bytes, data: await readFile(file), engine, id }
}

/** A leecher engine fetching `bytes` from `peer`; resolves once complete, with its stats and the bytes it wrote. */
const leech = async (t: T, bytes: Uint8Array, peer: string, options: ClientOptions, timeoutMs: number) => {
  const out = await makeTempDir('h15-utp-out-')
  t.after(() => out.close())
  const engine = runEngine(t, { port: 0, host: '127.0.0.1', ...options })
  const id = await engine.create(bytes, out.path, [peer])
  const stats = await engine.waitSeeding(id, timeoutMs)
  const info = engine.handles.get(id)?.peers() ?? []
  return { stats, engine, id, info, data: await readFile(join(out.path, 'payload.bin')) }
}

test('uTP only, both ways: an engine leecher downloads from an engine seeder byte-identical over uTP', async (t) => {
  const s = await seeder(t, 6 << 20, { tcp: false })
  const l = await leech(t, s.bytes, `127.0.0.1:${s.port}`, { tcp: false }, 120_000)
  assert.ok(l.data.equals(s.data), 'byte-identical')
  assert.equal(l.stats.transport, 'utp only')
  assert.equal(s.engine.latest(s.id)?.transport, 'utp only')
  // The uTP-only seeder sent the data (its counter, not a sampled peer count: a fast run can finish between two samples).
  await s.engine.waitFor(s.id, 'the seeder uploaded the file', (st) => st.upTotal >= s.data.length, 30_000)
  assert.ok(history(s.engine, s.id).every((st) => (st.peerTransports?.tcp ?? 0) === 0), 'never over TCP')
})

test('uTP over a link with 50 ms delay and 1% loss each way completes byte-identical', async (t) => {
  const s = await seeder(t, 1 << 20, { tcp: false })
  const relay = await udpRelay({ target: { host: '127.0.0.1', port: s.port }, up: { delayMs: 50, loss: 0.01 }, seed: 11 })
  t.after(() => relay.close())
  const l = await leech(t, s.bytes, `127.0.0.1:${relay.port}`, { tcp: false }, 240_000)
  assert.ok(l.data.equals(s.data), 'byte-identical')
  assert.ok(relay.stats.up.dropped + relay.stats.down.dropped > 0, `the link dropped datagrams: ${JSON.stringify(relay.stats)}`)
})

test('a default engine (TCP and uTP) reaches a uTP-only seeder over uTP; PeerInfo says so', async (t) => {
  const s = await seeder(t, 2 << 20, { tcp: false })
  // Status every 20 ms: on an idle machine the download can otherwise finish between two updates.
  const l = await leech(t, s.bytes, `127.0.0.1:${s.port}`, { statusInterval: 20 }, 120_000)
  assert.ok(l.data.equals(s.data), 'byte-identical')
  assert.equal(l.stats.transport, 'tcp+utp')
  const seen = history(l.engine, l.id)
  assert.ok(seen.some((st) => (st.peerTransports?.utp ?? 0) === 1), 'the seeder was reached over uTP')
  assert.ok(seen.every((st) => (st.peerTransports?.tcp ?? 0) === 0), 'never over TCP')
  assert.ok(l.info.every((p) => p.transport === 'utp'), JSON.stringify(l.info))
})

test('two default engines keep a single connection to each other whichever transport wins', async (t) => {
  const s = await seeder(t, 2 << 20, {})
  const l = await leech(t, s.bytes, `127.0.0.1:${s.port}`, {}, 120_000)
  assert.ok(l.data.equals(s.data), 'byte-identical')
  const peers = s.engine.handles.get(s.id)?.peers() ?? []
  assert.ok(peers.length <= 1, `the seeder holds one connection: ${JSON.stringify(peers)}`)
  assert.ok(l.info.length <= 1, `the leecher holds one connection: ${JSON.stringify(l.info)}`)
  // Never two at once, during the download either.
  assert.ok(history(l.engine, l.id).every((st) => st.numPeers <= 1 && (st.peerTransports?.tcp ?? 0) + (st.peerTransports?.utp ?? 0) <= 1))
})

test('a magnet over uTP only: a uTP-only leecher fetches the metadata (ut_metadata) and the data from a uTP-only seeder', async (t) => {
  const s = await seeder(t, 3 << 20, { tcp: false })
  const meta = await parseMetainfo(s.bytes)
  assert.ok(meta.ok)
  const out = await makeTempDir('h15-utp-magnet-')
  t.after(() => out.close())
  const engine = runEngine(t, { port: 0, host: '127.0.0.1', tcp: false })
  const id = await engine.create(`magnet:?xt=urn:btih:${meta.value.infoHash}&x.pe=127.0.0.1:${s.port}`, out.path)
  const stats = await engine.waitSeeding(id, 120_000)
  assert.equal(history(engine, id)[0]?.activity, 'fetching metadata', 'the torrent started from the magnet alone')
  assert.equal(stats.transport, 'utp only')
  assert.ok((await readFile(join(out.path, 'payload.bin'))).equals(s.data), 'byte-identical')
  // The uTP-only seeder sent the data (its counter, not a sampled peer count: a fast run can finish between two samples).
  await s.engine.waitFor(s.id, 'the seeder uploaded the file', (st) => st.upTotal >= s.data.length, 30_000)
  assert.ok(history(s.engine, s.id).every((st) => (st.peerTransports?.tcp ?? 0) === 0), 'never over TCP')
})
