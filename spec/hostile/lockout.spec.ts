/**
 * Lockout attacks (docs/security.md, Connection admission): 256 TCP
 * connections that never send a byte and 50 that handshake and then say
 * nothing, each reopened as soon as it is closed, hold every slot they can
 * get on the engine's listen port. Meanwhile an honest download must go
 * through in time: a real aria2c leecher fetching 16 MiB from an engine
 * seeder, and an engine leecher fetching 16 MiB from a real aria2c seeder.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { runEngine } from '../support/engine.ts'
import { startSiege, type Siege } from '../support/siege.ts'
import { dialHostile, handshakeBytes, keepAlive } from '../support/hostile-peer.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { compareTrees, makeRandomTree } from '../support/peers/data.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startAria2Leecher, startAria2Seeder } from '../support/peers/aria2.ts'
import { freePort } from '../support/peers/ports.ts'

const SIZE = 16 << 20
const HALF_OPEN = 256
const SILENT = 50

/** 16 MiB of random files, its torrent announcing to a local tracker. */
const stage = async (t: { after(fn: () => unknown): void }, prefix: string) => {
  const tmp = await makeTempDir(prefix)
  t.after(() => tmp.close())
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 3 })
  const bytes = await makeTorrent(tree.root, { announce: tracker.httpAnnounce, pieceLength: 1 << 18 })
  const torrentPath = join(tmp.path, 'payload.torrent')
  await writeFile(torrentPath, bytes)
  const meta = await parseMetainfo(bytes)
  assert.ok(meta.ok)
  const target = { infoHash: meta.value.infoHash, pieceCount: meta.value.pieceCount, pieceLength: meta.value.pieceLength }
  return { tmp, tree, bytes, torrentPath, target, announce: tracker.httpAnnounce }
}

/** The silent peers first (they need the torrent's slots), then the half-open flood; resolves once both hold. */
const besiege = async (t: { after(fn: () => unknown): void }, port: number, target: { infoHash: string; pieceCount: number; pieceLength: number }) => {
  const silent = startSiege({ port, target, halfOpen: 0, silent: SILENT })
  t.after(() => silent.stop())
  await silent.until((c) => c.silent === SILENT, 30_000, `${SILENT} silent peers handshaken`)
  const flood = startSiege({ port, target, halfOpen: HALF_OPEN, silent: 0 })
  t.after(() => flood.stop())
  await flood.until((c) => c.halfOpen === HALF_OPEN, 30_000, `${HALF_OPEN} half-open connections`)
  return { silent, flood }
}

const report = (sieges: { silent: Siege; flood: Siege }, ms: number): string => {
  const s = sieges.silent.counts()
  const f = sieges.flood.counts()
  return `in ${ms} ms: silent ${JSON.stringify(s)}, half-open ${JSON.stringify(f)}`
}

test('an engine seeder under a lockout attack: a real aria2c leecher still downloads 16 MiB within 15 s', { timeout: 120_000 }, async (t) => {
  const s = await stage(t, 'lockout-seed-')
  const port = await freePort()
  const engine = runEngine(t, { port, host: '127.0.0.1', hasherWorkers: 1 })
  const id = await engine.create(s.bytes, dirname(s.tree.root))
  await engine.waitSeeding(id, 30_000)
  const sieges = await besiege(t, port, s.target)

  const started = Date.now()
  const out = join(s.tmp.path, 'leech')
  const leecher = await startAria2Leecher({ torrentPath: s.torrentPath, dir: out })
  t.after(() => leecher.close())
  await leecher.waitDone(15_000)
  t.diagnostic(report(sieges, Date.now() - started))
  assert.equal(await compareTrees(s.tree.root, join(out, 'payload')), undefined)
  // The attack went on throughout: it still held slots at the end.
  assert.ok(sieges.flood.counts().halfOpen > 0 && sieges.silent.counts().silent > 0, report(sieges, Date.now() - started))
})

test('an engine leecher under a lockout attack on its listen port: it still downloads 16 MiB from a real aria2c seeder within 15 s', { timeout: 120_000 }, async (t) => {
  const s = await stage(t, 'lockout-leech-')
  const port = await freePort()
  const engine = runEngine(t, { port, host: '127.0.0.1', hasherWorkers: 1 })
  const out = join(s.tmp.path, 'leech')
  // The torrent runs (and is besieged) before any honest peer exists.
  const id = await engine.create(s.bytes, out)
  await engine.waitActivity(id, 'downloading', 30_000)
  const sieges = await besiege(t, port, s.target)

  const started = Date.now()
  const seeder = await startAria2Seeder({ torrentPath: s.torrentPath, dir: dirname(s.tree.root) })
  t.after(() => seeder.close())
  const done = await engine.waitSeeding(id, 15_000)
  t.diagnostic(report(sieges, Date.now() - started))
  assert.equal(done.piecesDone, done.piecesTotal)
  assert.equal(await compareTrees(s.tree.root, join(out, 'payload')), undefined)
  assert.ok(sieges.flood.counts().halfOpen > 0 && sieges.silent.counts().silent > 0, report(sieges, Date.now() - started))
})

test('a peer that says nothing after its handshake (keep-alives aside) is closed at the first-message deadline', { timeout: 60_000 }, async (t) => {
  const s = await stage(t, 'lockout-silent-')
  const port = await freePort()
  const engine = runEngine(t, { port, host: '127.0.0.1', hasherWorkers: 1, admission: { firstMessageTimeout: 1500 } })
  const id = await engine.create(s.bytes, dirname(s.tree.root))
  await engine.waitSeeding(id, 30_000)
  const started = Date.now()
  const silent = startSiege({ port, target: s.target, halfOpen: 0, silent: 1, reopenMs: 60_000 })
  t.after(() => silent.stop())
  // Resolves when its script ends: once the engine closed it.
  const keepAlives = dialHostile(port, s.target, async (c) => {
    await c.write(handshakeBytes(s.target.infoHash, c.peerId))
    if ((await c.theirHandshake()) === null) return
    while (!c.closed) {
      await c.write(keepAlive())
      await c.sleep(200)
    }
  })
  await silent.until((c) => c.closedByTarget === 1, 20_000, 'the silent peer closed')
  const record = await keepAlives
  assert.ok(await record.conn.waitClosed(20_000), 'the keep-alive-only peer is closed too')
  assert.ok(record.conn.closedByRemote)
  t.diagnostic(`both closed ${Date.now() - started} ms after connecting`)
  assert.ok(Date.now() - started >= 1500, 'not before the deadline')
})

test('per-address cap (capLoopback): at most 2 peers from 127.0.0.1, silent ones give their slot to newcomers, and aria2c still downloads', { timeout: 90_000 }, async (t) => {
  const s = await stage(t, 'lockout-cap-')
  const port = await freePort()
  const engine = runEngine(t, { port, host: '127.0.0.1', hasherWorkers: 1, admission: { maxConnsPerAddress: 2, capLoopback: true } })
  const id = await engine.create(s.bytes, dirname(s.tree.root))
  await engine.waitSeeding(id, 30_000)
  let most = 0
  const siege = startSiege({ port, target: s.target, halfOpen: 0, silent: 4 })
  t.after(() => siege.stop())
  // Four silent peers for two slots: each newcomer evicts the oldest, over and over.
  await siege.until((c) => {
    most = Math.max(most, engine.handles.get(id)!.peers().length)
    return c.closedByTarget >= 8
  }, 30_000, 'eight evictions')
  const out = join(s.tmp.path, 'leech')
  const leecher = await startAria2Leecher({ torrentPath: s.torrentPath, dir: out })
  t.after(() => leecher.close())
  await leecher.waitDone(30_000)
  assert.equal(await compareTrees(s.tree.root, join(out, 'payload')), undefined)
  assert.ok(most <= 2, `at most 2 peers from one address, saw ${most}`)
})

test('a magnet link under a lockout attack in its metadata phase: the metadata and then 16 MiB still come from a real aria2c seeder within 15 s', { timeout: 120_000 }, async (t) => {
  const s = await stage(t, 'lockout-magnet-')
  const port = await freePort()
  const engine = runEngine(t, { port, host: '127.0.0.1', hasherWorkers: 1 })
  const out = join(s.tmp.path, 'leech')
  const id = await engine.create(`magnet:?xt=urn:btih:${s.target.infoHash}&tr=${encodeURIComponent(s.announce)}`, out)
  await engine.waitFor(id, 'the metadata phase', (x) => x.activity.includes('metadata'), 30_000)
  const sieges = await besiege(t, port, s.target)

  const started = Date.now()
  const seeder = await startAria2Seeder({ torrentPath: s.torrentPath, dir: dirname(s.tree.root) })
  t.after(() => seeder.close())
  const done = await engine.waitSeeding(id, 15_000)
  t.diagnostic(report(sieges, Date.now() - started))
  assert.equal(done.piecesDone, done.piecesTotal)
  assert.equal(await compareTrees(s.tree.root, join(out, 'payload')), undefined)
})
