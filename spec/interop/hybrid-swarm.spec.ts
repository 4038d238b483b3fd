/**
 * A hybrid swarm (BEP 52) with real clients. One engine leecher of a hybrid
 * made by python3-libtorrent 2.0.8 is fed by a libtorrent seeder (on
 * 127.0.0.1; the engine's connection to it is upgraded to v2, and libtorrent's
 * own log shows it answered with the v2 hash) and an rtorrent 0.9.8 seeder
 * (v1 only, in a network namespace of 198.51.100.128/25: rtorrent misbehaves
 * on loopback), both at once: each seeder's upload is limited so neither
 * finishes alone, each contributes bytes, the data is byte-identical. Then the
 * other direction: the engine seeds a hybrid to a libtorrent leecher that
 * dials it, over an upgraded connection.
 *
 * aria2c 1.36 cannot be the v1 client: it computes another v1 info hash for a
 * hybrid than libtorrent and this engine; Transmission 3.00 cannot either: it
 * refuses to parse a hybrid (docs/engine.md).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cp, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { startLibtorrent } from '../support/peers/libtorrent.ts'
import { ltMake } from '../support/peers/libtorrent-oracle.ts'
import { startRtorrent } from '../support/peers/netns-clients.ts'
import { openNetns } from '../support/netns.ts'
import { runEngine } from '../support/engine.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { isTorrentStatusUpdate } from '../../lib/messages.ts'
import type { Metainfo } from '../../lib/engine/contracts.ts'

const SIZE = 6 << 20
const PIECE = 64 * 1024
/** Each seeder's upload limit: alone, either would need about 24 s for SIZE. */
const LIMIT_KIB = 256

async function hybridOf (dir: string): Promise<{ root: string, torrentPath: string, bytes: Uint8Array, meta: Metainfo }> {
  const tree = await makeRandomTree(join(dir, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 4 })
  const torrentPath = join(dir, 't.torrent')
  const bytes = await ltMake(tree.root, torrentPath, 'hybrid', PIECE)
  const parsed = await parseMetainfo(bytes)
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  assert.equal(parsed.value.version, 'hybrid')
  return { root: tree.root, torrentPath, bytes, meta: parsed.value }
}

test('one engine leecher of a hybrid, fed by libtorrent (v2 connection) and rtorrent (v1 connection) at once, byte-identical', { timeout: 300_000 }, async (t) => {
  const tmp = await makeTempDir('h20a-swarm-')
  t.after(() => tmp.close())
  const h = await hybridOf(tmp.path)
  const key = h.meta.v2!.infoHash.slice(0, 40)
  // libtorrent refuses MSE, so the engine's plaintext retry reaches it: libtorrent upgrades plaintext handshakes only.
  const lt = await startLibtorrent({
    torrent: h.torrentPath,
    save: join(tmp.path, 'seed'),
    settings: { in_enc_policy: 2, out_enc_policy: 2 },
    localUploadLimit: LIMIT_KIB * 1024
  })
  t.after(() => lt.close())
  await lt.waitForStatus((s) => s.seeding, 'libtorrent seeding', 60_000)

  // rtorrent seeds the v1 half: its data folder holds the files and, as real files of zeros, the pad files.
  const ns = openNetns({ name: 'h20a-rt', prefix: '198.51.100', index: 32 })
  t.after(() => ns.close())
  const rtData = join(tmp.path, 'rt-data')
  await cp(join(tmp.path, 'seed'), rtData, { recursive: true })
  for (const f of h.meta.files.filter((x) => x.pad)) {
    await mkdir(join(rtData, ...f.path.slice(0, -1)), { recursive: true })
    await writeFile(join(rtData, ...f.path), new Uint8Array(f.length))
  }
  const rt = await startRtorrent({ ns, torrentPath: h.torrentPath, dataDir: rtData, workDir: join(tmp.path, 'rt'), uploadKiBps: LIMIT_KIB })
  t.after(() => rt.close())

  const engine = runEngine(t, { port: 0, utp: false })
  const out = join(tmp.path, 'out')
  const id = await engine.create(h.bytes, out, [`127.0.0.1:${lt.port}`, rt.peer])
  const rtHost = rt.peer.split(':')[0]!
  // Both seeders connected and each has sent bytes, while the download runs.
  const both = await pollUntil(() => {
    const peers = engine.handles.get(id)?.peers() ?? []
    const fromLt = peers.find((p) => p.address.startsWith('127.0.0.1:') && p.downloaded > 0)
    const fromRt = peers.find((p) => p.address.startsWith(`${rtHost}:`) && p.downloaded > 0)
    return fromLt !== undefined && fromRt !== undefined ? { fromLt, fromRt } : undefined
  }, { timeoutMs: 180_000, intervalMs: 100, what: 'bytes from both seeders', explain: () => `${JSON.stringify(engine.handles.get(id)?.peers())}\n${rt.process.logTail()}` })
  assert.equal(both.fromLt.version, 'v2', 'the libtorrent connection is upgraded')
  assert.equal(both.fromRt.version, 'v1', 'the rtorrent connection talks v1')
  const done = await engine.waitSeeding(id, 180_000) as Awaited<ReturnType<typeof engine.waitSeeding>> & { refusedOutsideEndgame: number }
  // Two seeders answer the same blocks in endgame (those are the discarded bytes): nothing else is refused, nobody banned.
  assert.equal(done.refusedOutsideEndgame, 0)
  assert.deepEqual(engine.handles.get(id)!.banned(), [])
  assert.equal(await compareTrees(h.root, join(out, 'payload')), undefined)
  // libtorrent's side: it answered the engine's handshake with the v2 hash (BEP 52's upgrade).
  const log = await lt.wireLog()
  assert.ok(log.some((l) => l.toLowerCase().includes(key)), `libtorrent's handshake named the v2 hash ${key}`)
})

test('the engine seeds a hybrid to a libtorrent leecher that dials it; the connection is upgraded, byte-identical', { timeout: 240_000 }, async (t) => {
  const tmp = await makeTempDir('h20a-seed-')
  t.after(() => tmp.close())
  const h = await hybridOf(tmp.path)
  const port = await freePort()
  const engine = runEngine(t, { port, utp: false })
  const id = await engine.create(h.bytes, join(tmp.path, 'seed'))
  await engine.waitSeeding(id, 60_000)
  // libtorrent's defaults (an MSE opening first), its v1 hash and the v2 bit in its handshake.
  const lt = await startLibtorrent({ torrent: h.torrentPath, save: join(tmp.path, 'lt'), connect: [['127.0.0.1', port]] })
  t.after(() => lt.close())
  const incoming = await pollUntil(() => engine.handles.get(id)?.peers().find((p) => p.source === 'incoming' && p.remoteId !== null), {
    timeoutMs: 60_000, intervalMs: 50, what: 'libtorrent to connect', explain: () => JSON.stringify(engine.latest(id))
  })
  assert.equal(incoming.version, 'v2', `libtorrent's offer (v1 hash and the v2 bit; opening: ${incoming.encryption}) is taken`)
  await lt.waitForStatus((s) => s.seeding, 'libtorrent done', 180_000)
  assert.equal(await compareTrees(h.root, join(tmp.path, 'lt', 'payload')), undefined)
  // Statuses are samples (the 6 MiB can be gone between two): each one counts its connected peer as v2.
  for (const e of engine.out.events) {
    if (!isTorrentStatusUpdate(e) || e.torrentid !== id) continue
    const s = e.statsdictionary
    assert.equal(s.peerVersions?.v1 ?? 0, 0, JSON.stringify(s.peerVersions))
    assert.equal(s.peerVersions?.v2 ?? 0, s.numPeers, JSON.stringify(s.peerVersions))
  }
})
