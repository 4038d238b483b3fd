/**
 * Encryption required by real clients, both ways: Transmission 3.00
 * (`"encryption": 2`) and rtorrent 0.9.8 (`require,require_RC4`) each leech
 * from an engine seeder and seed to an engine leecher, byte-identical, and
 * the engine's stats count that peer as RC4 (never plaintext, never an MSE
 * handshake with plaintext payload).
 *
 * Both clients misbehave on 127.0.0.0/8, so each runs in a network namespace
 * of its own joined to the test by a veth pair of 192.0.2.0/24 (TEST-NET-1):
 * the engine and the tracker bind the host end, the client the inner one.
 * A missing client fails its test.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { isTorrentStatusUpdate, type TorrentStats } from '../../lib/messages.ts'
import { runEngine } from '../support/engine.ts'
import { openNetns } from '../support/netns.ts'
import { startRtorrent, startTransmission, type NetnsClientOptions, type NetnsClient } from '../support/peers/netns-clients.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { pollUntil } from '../support/peers/wait.ts'

const SIZE = (4 << 20) + 12345
const NAME = 'payload.bin'

type T = { after(fn: () => unknown): void }
type Start = (o: NetnsClientOptions) => Promise<NetnsClient>

/** A namespace, a tracker on its host end, and a random torrent announcing to it. */
const fixture = async (t: T, ns: string, index: number) => {
  const net = openNetns({ name: ns, prefix: '192.0.2', index })
  t.after(() => net.close())
  const tmp = await makeTempDir(`${ns}-`)
  t.after(() => tmp.close())
  const tracker = await startTracker({ intervalMs: 2000, host: net.hostAddress })
  t.after(() => tracker.close())
  const seedDir = join(tmp.path, 'seed')
  await mkdir(seedDir)
  await writeRandomFile(join(seedDir, NAME), SIZE)
  const bytes = await makeTorrent(join(seedDir, NAME), { announce: tracker.httpAnnounce, pieceLength: 65536 })
  const torrentPath = join(tmp.path, 'test.torrent')
  await writeFile(torrentPath, bytes)
  const meta = await parseMetainfo(bytes)
  assert.ok(meta.ok)
  return { net, tmp, tracker, seedDir, bytes, torrentPath, infoHash: meta.value.infoHash, data: await readFile(join(seedDir, NAME)) }
}

/** An engine on the namespace's host end: TCP only (both clients run with uTP off), stats every 50 ms. */
const engineAt = (t: T, host: string) => runEngine(t, { port: 0, host, utp: false, statusInterval: 50 })

/** Every stats dictionary the engine reported for `id`. */
const history = (engine: ReturnType<typeof runEngine>, id: string): TorrentStats[] =>
  engine.out.events.filter(isTorrentStatusUpdate).filter((m) => m.torrentid === id).map((m) => m.statsdictionary)

/** The peer was connected in RC4 at some time, and no connection ever ran without it. */
const assertRc4Only = (engine: ReturnType<typeof runEngine>, id: string): void => {
  const seen = history(engine, id)
  const counts = seen.map((s) => s.peerEncryption)
  assert.ok(counts.some((c) => (c?.rc4 ?? 0) >= 1), `a peer counted in RC4: ${JSON.stringify(counts.slice(-5))}`)
  assert.ok(counts.every((c) => c !== undefined && c.none === 0 && c.obfuscated === 0), 'never a connection without RC4')
}

for (const [client, start, ns, index] of [
  ['Transmission', startTransmission, 't15e-tr', 1],
  ['rtorrent', startRtorrent, 't15e-rt', 2]
] as Array<[string, Start, string, number]>) {
  test(`${client} requiring encryption downloads from an engine seeder, byte-identical, over RC4`, { timeout: 240_000 }, async (t) => {
    const f = await fixture(t, `${ns}l`, index)
    const engine = engineAt(t, f.net.hostAddress)
    const id = await engine.create(f.bytes, f.seedDir)
    await engine.waitSeeding(id, 30_000)
    await f.tracker.waitForSeeders(f.infoHash, 1, 20_000)
    const out = join(f.tmp.path, 'client-out')
    const peer = await start({ ns: f.net, torrentPath: f.torrentPath, dataDir: out, workDir: join(f.tmp.path, 'client') })
    t.after(() => peer.close())
    await pollUntil(async () => (await readFile(join(out, NAME)).catch(() => null))?.equals(f.data), {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: `${client} to hold the whole file`,
      explain: () => `${peer.process.logTail()}\nengine: ${JSON.stringify(engine.latest(id))}`
    })
    assertRc4Only(engine, id)
  })

  test(`an engine leecher downloads from ${client} seeding with encryption required, byte-identical, over RC4`, { timeout: 240_000 }, async (t) => {
    const f = await fixture(t, `${ns}s`, index + 2)
    const peer = await start({ ns: f.net, torrentPath: f.torrentPath, dataDir: f.seedDir, workDir: join(f.tmp.path, 'client') })
    t.after(() => peer.close())
    const engine = engineAt(t, f.net.hostAddress)
    const out = join(f.tmp.path, 'engine-out')
    const id = await engine.create(f.bytes, out, [peer.peer])
    await engine.waitSeeding(id, 180_000)
    assert.ok((await readFile(join(out, NAME))).equals(f.data), 'byte-identical')
    assertRc4Only(engine, id)
  })
}
