/**
 * Faults around a running download, all on 127.0.0.1:
 * - the tracker is unreachable at first, then comes up on that port: the engine's retry finds
 *   the seeder through it;
 * - every peer goes away: activity turns "stalled", and the download resumes and completes
 *   once a seeder is back;
 * - storage fails (a full 1 MiB tmpfs, or a file where the torrent's folder must be): that
 *   torrent reports "error: ..." while another torrent in the same engine completes.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { Server } from 'bittorrent-tracker'
import type { Metainfo } from '../../lib/engine/contracts.ts'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { freePort } from '../support/peers/ports.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startFakeSeeder, type SeedableTorrent } from '../support/fake-seeder.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'

const run = promisify(execFile)

const seedable = (m: Metainfo): SeedableTorrent => ({
  infoHash: m.infoHash,
  pieceLength: m.pieceLength,
  length: m.length,
  files: m.files.map((f) => ({ path: f.path.join('/'), length: f.length, offset: f.offset }))
})

/** A random multi-file tree under `<dir>/seed/payload` and its torrent. */
const makeTorrent = async (dir: string, totalBytes: number, announce: string[]) => {
  const tree = await makeRandomTree(join(dir, 'seed', 'payload'), { totalBytes, fileCount: 3 })
  const made = await mktorrent(tree.root, join(dir, 't.torrent'), { announce, pieceLengthLog2: 16 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  return { tree, made, meta: parsed.value, seedDir: dirname(tree.root) }
}

test('tracker unreachable at first, then up on that port: the engine retries and downloads', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('fault-trk-')
  t.after(() => tmp.close())
  const port = await freePort('tcp')
  const announce = `http://127.0.0.1:${port}/announce`
  const { tree, made, meta, seedDir } = await makeTorrent(tmp.path, 4 << 20, [announce])

  const engine = runEngine(t)
  const out = join(tmp.path, 'out')
  const id = await engine.create(made.bytes, out)
  // Let the first announce fail (connection refused) before the tracker exists.
  await engine.waitFor(id, 'downloading', (s) => s.activity === 'downloading', 10000)
  await new Promise((r) => setTimeout(r, 1000))
  assert.equal(engine.latest(id)!.numPeers, 0)

  const announced: string[] = []
  const server = new Server({ http: true, udp: false, ws: false, stats: false, interval: 2000 })
  server.on('warning', () => {})
  server.on('error', () => {})
  server.on('start', (addr: string) => announced.push(addr))
  server.on('update', (addr: string) => announced.push(addr))
  await new Promise<void>((resolve, reject) => {
    server.http!.once('listening', () => resolve())
    server.http!.once('error', reject)
    server.listen(port, '127.0.0.1')
  })
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.http?.closeAllConnections?.()
  }))
  const seeder = await startFakeSeeder({ torrent: seedable(meta), dir: seedDir, announce: [announce] })
  t.after(() => seeder.close())

  const done = await engine.waitSeeding(id, 45000)
  assert.equal(done.piecesDone, done.piecesTotal)
  assert.ok(seeder.stats().bytesSent > 0, 'the seeder found through the tracker delivered the data')
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
})

test('all peers gone: "stalled", then resumes and completes when a seeder returns', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('fault-stall-')
  t.after(() => tmp.close())
  const tracker = await startTracker({ intervalMs: 2000 })
  t.after(() => tracker.close())
  const { tree, made, meta, seedDir } = await makeTorrent(tmp.path, 4 << 20, [tracker.httpAnnounce])

  // The first seeder dies after a third of the data.
  const first = await startFakeSeeder({ torrent: seedable(meta), dir: seedDir, announce: [tracker.httpAnnounce], dieAfterBytes: meta.length / 3 })
  t.after(() => first.close())
  await tracker.waitForSeeders(meta.infoHash, 1, 10000)

  const engine = runEngine(t, { requestTimeout: 3000 })
  const out = join(tmp.path, 'out')
  const id = await engine.create(made.bytes, out)
  await engine.waitFor(id, 'some pieces', (s) => s.piecesDone > 0, 20000)
  await first.close()

  const stalled = await engine.waitFor(id, 'stalled', (s) => s.activity === 'stalled', 30000)
  assert.ok(stalled.piecesDone < stalled.piecesTotal, 'stalled before the end')
  assert.equal(stalled.downRate, 0)

  const second = await startFakeSeeder({ torrent: seedable(meta), dir: seedDir, announce: [tracker.httpAnnounce] })
  t.after(() => second.close())
  const done = await engine.waitSeeding(id, 25000)
  assert.equal(done.piecesDone, done.piecesTotal)
  assert.ok(second.stats().bytesSent > 0, 'the returning seeder delivered the rest')
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
})

/** Mounts a 1 MiB tmpfs at `dir`; false if this machine does not let us. */
const mountTinyTmpfs = async (dir: string): Promise<boolean> => {
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir])
    return true
  } catch {
    return false
  }
}

test('storage fails (disk full, a file where a folder must be): that torrent errors, the other completes', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('fault-disk-')
  let mountedAt: string | undefined
  // One hook, in this order: a busy tmpfs must be (lazily) unmounted before its folder is removed.
  t.after(async () => {
    if (mountedAt !== undefined) await run('umount', ['-l', mountedAt]).catch(() => {})
    await tmp.close()
  })
  const good = await makeTorrent(join(tmp.path, 'good'), 4 << 20, ['http://127.0.0.1:9/announce'])
  const blocked = await makeTorrent(join(tmp.path, 'blocked'), 2 << 20, ['http://127.0.0.1:9/announce'])
  const full = await makeTorrent(join(tmp.path, 'full'), 4 << 20, ['http://127.0.0.1:9/announce'])
  const seeders = await Promise.all(
    [good, blocked, full].map((x) => startFakeSeeder({ torrent: seedable(x.meta), dir: x.seedDir, slowMs: x === good ? 2 : 0 }))
  )
  t.after(() => Promise.all(seeders.map((s) => s.close())))

  // A regular file sits where the torrent's top folder "payload" must go.
  const blockedOut = join(tmp.path, 'blocked-out')
  await mkdir(blockedOut, { recursive: true })
  await writeFile(join(blockedOut, 'payload'), 'not a folder')

  // A 1 MiB tmpfs for a 4 MiB torrent: the disk fills up.
  const fullOut = join(tmp.path, 'full-out')
  await mkdir(fullOut, { recursive: true })
  const mounted = await mountTinyTmpfs(fullOut)
  if (mounted) mountedAt = fullOut
  t.diagnostic(mounted ? 'tmpfs of 1 MiB mounted' : 'mount not permitted here: disk-full case not exercised')

  const engine = runEngine(t)
  const goodOut = join(tmp.path, 'good-out')
  const goodId = await engine.create(good.made.bytes, goodOut, [seeders[0]!.peer])
  const blockedId = await engine.create(blocked.made.bytes, blockedOut, [seeders[1]!.peer])
  const fullId = mounted ? await engine.create(full.made.bytes, fullOut, [seeders[2]!.peer]) : undefined

  const blockedErr = await engine.waitFor(blockedId, 'error', (s) => s.activity.startsWith('error: '), 20000)
  assert.match(blockedErr.activity, /ENOTDIR|not a directory|EEXIST|exists/i)
  assert.match(blockedErr.activity, /payload/, 'the message names the path')
  t.diagnostic(`file in the way: ${blockedErr.activity}`)
  if (fullId !== undefined) {
    const fullErr = await engine.waitFor(fullId, 'error', (s) => s.activity.startsWith('error: '), 20000)
    assert.match(fullErr.activity, /ENOSPC|no space|disk full/i)
    t.diagnostic(`disk full: ${fullErr.activity}`)
    assert.equal(fullErr.numPeers, 0, 'a failed torrent keeps no peers')
  }

  const done = await engine.waitSeeding(goodId, 40000)
  assert.equal(done.piecesDone, done.piecesTotal)
  assert.equal(await compareTrees(good.tree.root, join(goodOut, 'payload')), undefined)
  // The failed torrents stay failed (no flapping back to downloading).
  assert.ok(engine.latest(blockedId)!.activity.startsWith('error: '))
  if (fullId !== undefined) assert.ok(engine.latest(fullId)!.activity.startsWith('error: '))
})
