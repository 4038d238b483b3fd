/**
 * A v2-only .torrent whose `piece layers` lack some or all files' layers: the
 * engine fetches them from peers (BEP 52 hash requests), proves each against
 * the file's pieces root, then checks the data on disk and downloads the rest.
 * Engines and fake peers (bittorrent-protocol) on 127.0.0.1, plain TCP.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, mkdir, readdir } from 'node:fs/promises'
import { Buffer } from 'node:buffer'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import type { Metainfo, V2File } from '../../lib/engine/contracts.ts'
import { closeTorrent, createNewTorrent, isTorrentStartFail } from '../../lib/messages.ts'
import { hashServer, type HashAnswerFn } from '../../lib/engine/torrent/hash-server.ts'
import { HashExchange } from '../../lib/engine/wire/hash-exchange.ts'
import type { CappedWire } from '../../lib/engine/wire/capped-wire.ts'
import { saveLayers } from '../../lib/engine/disk/layer-store.ts'
import { runEngine } from '../support/engine.ts'
import { startFakeSeeder, type FakeSeeder } from '../support/fake-seeder.ts'
import { withoutPieceLayers } from '../support/strip-layers.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'

const PIECE = 64 * 1024
const PLAIN = { utp: false, outgoingEncryption: 'disabled' } as const

async function dataSet (t: { after(fn: () => unknown): void }, prefix: string) {
  const tmp = await makeTempDir(prefix)
  t.after(() => tmp.close())
  // Two files with layers, one of exactly one piece, one smaller than a leaf: the last two need none.
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { sizes: [1_500_001, 700_000, PIECE, 900] })
  const full = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:1/announce', pieceLength: PIECE, version: 'v2' })
  const parsed = await parseMetainfo(full, { acceptV2Only: true })
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  return { tmp, tree, full, meta: parsed.value }
}

/** The v2 file at `path` (under the torrent's folder). */
const fileOf = (meta: Metainfo, path: string): V2File => {
  const f = meta.v2?.files.find((x) => x.path.join('/') === `payload/${path}`)
  assert.ok(f !== undefined, path)
  return f
}

/** An engine seeding `full` from `dir` on `port`. */
async function engineSeeder (t: { after(fn: () => unknown): void }, full: Uint8Array, dir: string, port: number) {
  const engine = runEngine(t, { ...PLAIN, port })
  const id = await engine.create(full, dir)
  await engine.waitSeeding(id, 60_000)
  return engine
}

/** A fake seeder of `meta`'s data whose hash exchange answers with `serve` (absent: it rejects every hash request). */
async function fakePeer (meta: Metainfo, dir: string, serve?: HashAnswerFn) {
  const sockets: Socket[] = []
  const seeder: FakeSeeder = await startFakeSeeder({
    torrent: { infoHash: meta.infoHash, pieceLength: meta.pieceLength, length: meta.length, files: meta.files.filter((f) => !f.pad).map((f) => ({ path: f.path.join('/'), length: f.length, offset: f.offset })) },
    dir,
    onWire: (wire, socket) => {
      sockets.push(socket)
      void new HashExchange(wire as unknown as CappedWire, { v2Swarm: true, ...(serve === undefined ? {} : { serve }) })
    }
  })
  return { seeder, sockets }
}

test('v2 .torrent lacking some piece layers: they come from a seeding engine, the file on disk is checked, the rest downloaded, byte-identical; kept for the next start', { timeout: 120_000 }, async (t) => {
  const { tmp, tree, full, meta } = await dataSet(t, 'h20b-layers-')
  const v2 = meta.v2!
  const a = fileOf(meta, 'a.bin')
  const b = fileOf(meta, 'sub/b.bin')
  // Keep a.bin's layer: the .torrent lacks b.bin's only.
  const keep = Buffer.from(a.root!).toString('hex')
  const bare = withoutPieceLayers(full, (root) => root === keep)
  const parsed = await parseMetainfo(bare, { acceptV2Only: true })
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  assert.equal(parsed.value.v2?.infoHash, v2.infoHash, 'the info dictionary is the same')
  assert.deepEqual([...parsed.value.v2!.pieceLayers.keys()], [keep])
  const port = await freePort()
  await engineSeeder(t, full, join(tmp.path, 'seed'), port)
  // The second file is on disk already: checked once its layer is in, never downloaded.
  const out = join(tmp.path, 'out')
  await mkdir(join(out, 'payload', 'sub'), { recursive: true })
  await copyFile(join(tree.root, 'sub', 'b.bin'), join(out, 'payload', 'sub', 'b.bin'))
  const leecher = runEngine(t, PLAIN)
  const id = await leecher.create(bare, out, [`127.0.0.1:${port}`])
  const done = await leecher.waitSeeding(id, 90_000)
  assert.equal(done.version, 'v2')
  assert.equal(done.size, meta.fileBytes)
  assert.equal(done.discarded, 0)
  // Pieces are fetched whole, pad included: every piece but b.bin's.
  assert.ok(done.downTotal <= (meta.pieceCount - b.pieceCount) * PIECE, `downloaded ${done.downTotal} bytes: the file on disk was downloaded again`)
  assert.equal(leecher.handles.get(id)!.restoredFrom().source, 'check')
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  // Started again with no peer at all: the layers kept from the first start let it check its data and seed.
  leecher.commands.event(closeTorrent(id))
  await pollUntil(() => leecher.latest(id)?.activity === 'shut down' ? true : undefined, { timeoutMs: 10_000, what: 'shut down' })
  const id2 = await leecher.create(bare, out)
  const seeding = await leecher.waitSeeding(id2, 30_000)
  assert.equal(seeding.downTotal, 0)
  assert.equal(leecher.handles.get(id2)!.restoredFrom().source, 'resume')
})

test('v2 .torrent without piece layers: kept layers that do not prove are ignored, and the torrent waits for peers', { timeout: 60_000 }, async (t) => {
  const { tmp, full, meta } = await dataSet(t, 'h20b-kept-')
  const out = join(tmp.path, 'out')
  const layers = new Map([...meta.v2!.pieceLayers].map(([root, layer]) => {
    const bad = Uint8Array.from(layer)
    bad[0]! ^= 1
    return [root, bad]
  }))
  await saveLayers(out, meta.infoHash, layers)
  const engine = runEngine(t, PLAIN)
  const id = await engine.create(withoutPieceLayers(full), out)
  await engine.waitFor(id, 'waiting for the layers', (s) => /^fetching piece layers \(0 of \d+ hash ranges; no connected peer speaks v2\)$/.test(s.activity), 10_000)
})

test('v2 .torrent without piece layers: a peer whose hashes fail their proof is closed and never dialled again; an honest engine completes it', { timeout: 120_000 }, async (t) => {
  const { tmp, tree, full, meta } = await dataSet(t, 'h20b-liar-')
  const honest = hashServer(meta)!
  // Hashes of the right shape with one node altered: they cannot prove up to the root.
  const liar = await fakePeer(meta, join(tmp.path, 'seed'), async (r) => {
    const a = await honest(r)
    if (a === null) return null
    const bad = Uint8Array.from(a[0]!)
    bad[0]! ^= 0xff
    return [bad, ...a.slice(1)]
  })
  t.after(() => liar.seeder.close())
  const port = await freePort()
  const leecher = runEngine(t, PLAIN)
  const id = await leecher.create(withoutPieceLayers(full), join(tmp.path, 'out'), [liar.seeder.peer, `127.0.0.1:${port}`])
  // Only the liar is up: it is asked, fails, is closed; the fetch then waits for another v2 peer.
  await pollUntil(() => liar.sockets.length > 0 && liar.sockets.every((s) => s.destroyed) ? true : undefined, { timeoutMs: 30_000, what: 'the liar closed' })
  const waiting = await leecher.waitFor(id, 'fetching piece layers without a peer', (s) => /^fetching piece layers \(0 of \d+ hash ranges; no connected peer speaks v2\)$/.test(s.activity), 10_000)
  assert.equal(waiting.piecesDone, 0)
  await engineSeeder(t, full, join(tmp.path, 'seed'), port)
  const done = await leecher.waitSeeding(id, 90_000)
  assert.equal(done.discarded, 0)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  assert.equal(liar.seeder.stats().connections, 1, 'the liar is never dialled again (neither for the layers nor for the data)')
})

test('v2 .torrent without piece layers and no peer that has them: the torrent waits with a note, then closes cleanly', { timeout: 60_000 }, async (t) => {
  const { tmp, full, meta } = await dataSet(t, 'h20b-none-')
  const mute = await fakePeer(meta, join(tmp.path, 'seed')) // rejects every hash request
  t.after(() => mute.seeder.close())
  const out = join(tmp.path, 'out')
  const engine = runEngine(t, PLAIN)
  const id = await engine.create(withoutPieceLayers(full), out, [mute.seeder.peer])
  const s = await engine.waitFor(id, 'a rejected hash request in the note', (x) => /^fetching piece layers \(0 of \d+ hash ranges; a peer rejected a hash request\)$/.test(x.activity), 20_000)
  assert.equal(s.numPeers, 1)
  assert.equal(mute.seeder.stats().requests, 0, 'no block is asked before the layers are in')
  engine.commands.event(closeTorrent(id))
  await pollUntil(() => engine.latest(id)?.activity === 'shut down' ? true : undefined, { timeoutMs: 10_000, what: 'shut down' })
  await pollUntil(() => mute.sockets.every((x) => x.destroyed) ? true : undefined, { timeoutMs: 10_000, what: 'the connection closed' })
  // Nothing was created on disk: storage opens only once the layers are in.
  assert.deepEqual(await readdir(out).catch(() => []), [])
})

test('v2 .torrent whose piece layer does not hash to its root: refused with the reason (bad input, not absence)', { timeout: 30_000 }, async (t) => {
  const { tmp, full, meta } = await dataSet(t, 'h20b-badlayer-')
  const layer = meta.v2!.pieceLayers.get(Buffer.from(fileOf(meta, 'a.bin').root!).toString('hex'))!
  const bad = Buffer.from(full)
  const at = bad.indexOf(Buffer.from(layer))
  assert.ok(at > 0)
  bad[at + 5]! ^= 0x01
  const engine = runEngine(t, PLAIN)
  engine.commands.event(createNewTorrent(new Uint8Array(bad), { savefolder: join(tmp.path, 'out') }))
  const fail = await pollUntil(() => engine.out.events.find(isTorrentStartFail), { timeoutMs: 10_000, what: 'TorrentStartFail' })
  assert.match(fail.reason ?? '', /the piece layer of "payload\/a\.bin" does not hash to the file's pieces root/)
})
