/**
 * Faults: kill -9 at random moments, during download and during
 * seeding. The engine runs in a child process (spec/support/engine-process.ts)
 * and is SIGKILLed at K kill points drawn from a seeded RNG (K = 3 here;
 * KILL_POINTS=N for more, KILL_SEED=S to replay a failure; `npm run soak`
 * runs more), then restarted on the same folder each time.
 *
 * Download: after each kill the disk is hashed independently, and
 * - no status before the kill claims more verified pieces than the disk holds;
 * - every piece the resume record vouches for (its files' size and mtime
 *   unchanged, the rule the engine trusts it by) really verifies on disk;
 * - the restart, once past its check, reports at least every piece any
 *   earlier run reported verified (no verified piece lost), and no more than
 *   the disk held plus what it downloaded since;
 * finally the download completes bit-identical.
 *
 * Seeding: the engine seeds a copy of the data to an aria2c leecher (aria2c
 * learns the engine from the embedded tracker; the engine is also told
 * aria2c's address, so either side may dial). After each kill the seeder's
 * files are byte-identical with unchanged mtimes (seeding never writes),
 * every restart reports fractionDone 1 once its check is done and downloads
 * nothing, and aria2c completes with identical data.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { cp, open, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../lib/engine/contracts.ts'
import type { TorrentStats } from '../../lib/messages.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startAria2Seeder, startAria2Leecher } from '../support/peers/aria2.ts'
import { freePort } from '../support/peers/ports.ts'
import { sleep } from '../support/peers/wait.ts'
import { startEngineProcess, type EngineProcess, type EngineProcessOptions } from '../support/engine-process.ts'

const SIZE = 16 << 20
const PIECE = 256 << 10
/** aria2c's cap (seeder upload / leecher download): a few seconds of transfer, room for kills mid-way. */
const RATE = 4 << 20
const KILLS = Math.max(1, Number(process.env['KILL_POINTS'] ?? 3))
const SEED = Number(process.env['KILL_SEED'] ?? (Date.now() % 0x7fffffff))

/** mulberry32: small, seedable, good enough to place kill points. */
function rngOf (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

type KillPoint =
  | { readonly kind: 'early', readonly ms: number } // ms after spawn, whatever the engine is doing
  | { readonly kind: 'checking' } // at the first status seen: the check (or right after it)
  | { readonly kind: 'fraction', readonly f: number, readonly extraMs: number } // download past f, then a bit more
  | { readonly kind: 'busy', readonly ms: number } // ms after the first downloading / uploading status

const describe = (p: KillPoint): string =>
  p.kind === 'early' ? `early (${p.ms} ms after spawn)`
    : p.kind === 'checking' ? 'at the first status (checking)'
      : p.kind === 'fraction' ? `past ${(p.f * 100).toFixed(0)} % + ${p.extraMs} ms`
        : `${p.ms} ms into the transfer`

/**
 * K kill points. The first three always cover an early kill (often before
 * any status, or in the first check), a kill in mid-transfer (`transfer`:
 * past a fraction for a download, into uploading for a seeder), then a kill
 * at the check of the restart after it, which has data to hash; the RNG sets
 * their timings. Further points are drawn freely.
 */
function killPlan (rng: () => number, k: number, transfer: 'fraction' | 'busy'): KillPoint[] {
  const draw = (kind: KillPoint['kind']): KillPoint =>
    kind === 'early' ? { kind, ms: Math.floor(rng() * 1500) }
      : kind === 'checking' ? { kind }
        : kind === 'fraction' ? { kind, f: 0.1 + rng() * 0.7, extraMs: Math.floor(rng() * 400) }
          : { kind, ms: Math.floor(rng() * 2500) }
  const first: Array<KillPoint['kind']> = ['early', transfer, 'checking']
  const others: Array<KillPoint['kind']> = ['early', 'checking', transfer, 'busy']
  return Array.from({ length: k }, (_, i) => draw(first[i] ?? others[Math.floor(rng() * others.length)]!))
}

const isChecking = (s: TorrentStats): boolean => s.activity === 'checking' || s.activity === 'starting'

/** Polls the child's statuses fast (the check of 16 MiB is short) until `pred` holds; undefined if the child exits. */
async function pollFast (engine: EngineProcess, pred: (all: readonly TorrentStats[]) => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const all = await engine.statuses()
    const last = all.at(-1)
    if (last?.activity.startsWith('error')) throw new Error(`engine: ${last.activity}`)
    if (pred(all)) return
    if (engine.process.exitInfo() !== undefined) throw new Error(`engine exited before ${what}: ${engine.process.logTail(10)}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status ${JSON.stringify(last)}`)
    await sleep(15)
  }
}

/**
 * Waits for the kill point, SIGKILLs the child, returns its statuses (the log
 * survives the kill). `busy` says a status shows the transfer under way;
 * `over` that there is nothing left to transfer (then waiting stops).
 */
async function killAt (engine: EngineProcess, point: KillPoint, busy: (s: TorrentStats) => boolean, over: (all: readonly TorrentStats[]) => boolean): Promise<readonly TorrentStats[]> {
  switch (point.kind) {
    case 'early':
      await sleep(point.ms)
      break
    case 'checking':
      await pollFast(engine, (all) => all.length > 0, 20_000, 'a first status')
      break
    case 'fraction':
      await pollFast(engine, (all) => {
        const s = all.at(-1)
        return (s !== undefined && s.fractionDone >= point.f) || over(all)
      }, 30_000, `fractionDone >= ${point.f}`)
      await sleep(point.extraMs)
      break
    case 'busy':
      await pollFast(engine, (all) => all.some(busy) || over(all), 30_000, 'transfer')
      await sleep(point.ms)
      break
  }
  const exit = await engine.kill()
  assert.equal(exit.signal, 'SIGKILL', `the engine was killed, not exited: ${JSON.stringify(exit)}`)
  return await engine.statuses()
}

/** The torrent's bytes as on disk under `folder` (missing and short files leave zeros, flagged absent). */
async function readTorrentBytes (folder: string, meta: Metainfo): Promise<{ bytes: Buffer, present: Uint8Array }> {
  const bytes = Buffer.alloc(meta.length)
  const present = new Uint8Array(meta.length)
  for (const f of meta.files) {
    if (f.pad) continue
    const fh = await open(join(folder, ...f.path), 'r').catch(() => undefined)
    if (fh === undefined) continue
    try {
      const { bytesRead } = await fh.read(bytes, f.offset, f.length, 0)
      present.fill(1, f.offset, f.offset + bytesRead)
    } finally {
      await fh.close()
    }
  }
  return { bytes, present }
}

/** Which pieces truly verify on disk, hashed here, independently of the engine. */
async function verifiedOnDisk (folder: string, meta: Metainfo): Promise<boolean[]> {
  const { bytes, present } = await readTorrentBytes(folder, meta)
  return Array.from({ length: meta.pieceCount }, (_, p) => {
    const from = p * meta.pieceLength
    const to = Math.min(meta.length, from + meta.pieceLength)
    if (present.subarray(from, to).includes(0)) return false
    const digest = createHash('sha1').update(bytes.subarray(from, to)).digest()
    return digest.equals(meta.pieceHashes.subarray(p * 20, p * 20 + 20))
  })
}

/** The resume record as the engine would read it: its pieces, and those it would trust (files' size and mtime unchanged). */
async function resumeRecordOf (folder: string, meta: Metainfo): Promise<{ pieces: number[], trusted: number[] } | undefined> {
  let record: { bitfield?: string, files?: Array<{ size: number, mtimeMs: number } | null> }
  try {
    record = JSON.parse(await readFile(join(folder, '.torrent-patron', `${meta.infoHash}.resume.json`), 'utf8')) as typeof record
  } catch {
    return undefined
  }
  const bits = Buffer.from(record.bitfield ?? '', 'base64')
  const pieces = Array.from({ length: meta.pieceCount }, (_, p) => p).filter((p) => ((bits[p >> 3] ?? 0) & (0x80 >> (p & 7))) !== 0)
  const unchanged = await Promise.all(meta.files.map(async (f, i) => {
    if (f.pad || f.length === 0) return true
    const was = record.files?.[i]
    const now = await stat(join(folder, ...f.path)).catch(() => undefined)
    return was != null && now !== undefined && was.size === now.size && was.mtimeMs === now.mtimeMs
  }))
  const trusted = pieces.filter((p) => meta.files.every((f, i) =>
    unchanged[i] || f.offset + f.length <= p * meta.pieceLength || f.offset >= (p + 1) * meta.pieceLength))
  return { pieces, trusted }
}

/** Size and mtime of every file, to show that seeding wrote nothing. */
async function fileStamps (folder: string, meta: Metainfo): Promise<string[]> {
  return await Promise.all(meta.files.map(async (f) => {
    const s = await stat(join(folder, ...f.path))
    return `${f.path.join('/')} ${s.size} ${s.mtimeMs}`
  }))
}

/** Whether any file of the torrent has data (the engine checks only then). */
async function anyData (folder: string, meta: Metainfo): Promise<boolean> {
  const sizes = await Promise.all(meta.files.map(async (f) => (await stat(join(folder, ...f.path)).catch(() => undefined))?.size ?? 0))
  return sizes.some((n) => n > 0)
}

const activities = (all: readonly TorrentStats[]): string => [...new Set(all.map((s) => s.activity))].join(' -> ') || '(no status)'

/** A fixture: random tree, embedded tracker, .torrent on disk; all removed in t.after. */
async function fixture (t: TestContext, prefix: string): Promise<{ tmp: string, root: string, torrentPath: string, meta: Metainfo, tracker: Awaited<ReturnType<typeof startTracker>> }> {
  const tmp = await makeTempDir(prefix)
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'orig', 'payload'), { totalBytes: SIZE, fileCount: 5 })
  const tracker = await startTracker({ intervalMs: 2000 })
  t.after(() => tracker.close())
  const bytes = await makeTorrent(tree.root, { announce: tracker.httpAnnounce, pieceLength: PIECE })
  const torrentPath = join(tmp.path, 'payload.torrent')
  await writeFile(torrentPath, bytes)
  const meta = await parseMetainfo(bytes)
  assert.ok(meta.ok)
  return { tmp: tmp.path, root: tree.root, torrentPath, meta: meta.value, tracker }
}

/** Starts an engine child whose close() runs in t.after, whatever happens. */
async function spawnEngine (t: TestContext, options: EngineProcessOptions): Promise<EngineProcess> {
  const engine = await startEngineProcess(options)
  t.after(() => engine.close())
  return engine
}

test(`download: SIGKILL at ${KILLS} random points (seed ${SEED}), restart on the same folder each time: no verified piece lost, none claimed unverified, completes bit-identical`, { timeout: 40_000 + KILLS * 12_000 }, async (t) => {
  const rng = rngOf(SEED)
  const plan = killPlan(rng, KILLS, 'fraction')
  t.diagnostic(`seed ${SEED} (replay: KILL_SEED=${SEED} KILL_POINTS=${KILLS}); plan: ${plan.map(describe).join('; ')}`)
  const fx = await fixture(t, 'kill-points-dl-')
  const { meta } = fx
  const seeder = await startAria2Seeder({ torrentPath: fx.torrentPath, dir: dirname(fx.root), maxUploadBytesPerSec: RATE, logLevel: 'warn' })
  t.after(() => seeder.close())
  const out = join(fx.tmp, 'out')
  const options: EngineProcessOptions = { torrentPath: fx.torrentPath, savefolder: out, peers: [seeder.peer] }

  /** The most pieces any status so far reported verified: no later run may come back with fewer. */
  let claimed = 0
  /** Verified on disk at the last kill: a restart finds no more than this, plus what it downloads. */
  let onDiskAtKill = 0
  const downloading = (s: TorrentStats): boolean => s.activity === 'downloading' && s.downTotal > 0

  /** Checks a run's statuses against what came before it. */
  const checkRun = (run: number, all: readonly TorrentStats[]): TorrentStats | undefined => {
    const afterCheck = all.find((s) => !isChecking(s))
    if (afterCheck !== undefined) {
      assert.ok(afterCheck.piecesDone >= claimed,
        `run ${run}: after its check the engine has ${afterCheck.piecesDone} pieces; ${claimed} were reported verified before (seed ${SEED})`)
      const fetched = Math.ceil(afterCheck.downTotal / meta.lastPieceLength)
      assert.ok(afterCheck.piecesDone <= onDiskAtKill + fetched,
        `run ${run}: after its check the engine claims ${afterCheck.piecesDone} pieces; the disk held ${onDiskAtKill} and it fetched ${afterCheck.downTotal} bytes (seed ${SEED})`)
    }
    const settled = all.filter((s) => !isChecking(s))
    for (let i = 1; i < settled.length; i++) {
      assert.ok(settled[i]!.piecesDone >= settled[i - 1]!.piecesDone, `run ${run}: piecesDone went back from ${settled[i - 1]!.piecesDone} to ${settled[i]!.piecesDone} (seed ${SEED})`)
    }
    for (const s of all) {
      assert.ok(s.piecesDone <= meta.pieceCount && s.fractionDone <= 1, `run ${run}: impossible status ${JSON.stringify(s)}`)
      claimed = Math.max(claimed, s.piecesDone)
    }
    return afterCheck
  }

  for (let i = 0; i < plan.length; i++) {
    const point = plan[i]!
    const engine = await spawnEngine(t, options)
    const all = await killAt(engine, point, downloading, (all) => all.at(-1)?.activity === 'seeding')
    const afterCheck = checkRun(i + 1, all)
    const last = all.at(-1)

    // The disk, frozen by the kill, hashed independently.
    const disk = await verifiedOnDisk(out, meta)
    const diskCount = disk.filter(Boolean).length
    if (last !== undefined) {
      assert.ok(last.piecesDone <= diskCount, `kill ${i + 1}: the last status claimed ${last.piecesDone} verified pieces, only ${diskCount} verify on disk (seed ${SEED})`)
      assert.ok(last.fractionDone <= diskCount / meta.pieceCount + 1e-9, `kill ${i + 1}: fractionDone ${last.fractionDone} > truly verified ${diskCount}/${meta.pieceCount} (seed ${SEED})`)
    }
    const record = await resumeRecordOf(out, meta)
    const bad = record?.trusted.filter((p) => !disk[p]) ?? []
    assert.deepEqual(bad, [], `kill ${i + 1}: the resume record vouches for pieces that do not verify on disk (seed ${SEED})`)
    const expectRestart = record !== undefined ? `resume record (${record.trusted.length} trusted, ${record.pieces.length - record.trusted.length} to re-check)`
      : (await anyData(out, meta)) ? 'no record: full check of what is on disk' : 'nothing on disk: empty start'
    t.diagnostic(
      `kill ${i + 1} ${describe(point)}: run went ${activities(all)}` +
        (afterCheck !== undefined ? `, resumed with ${afterCheck.piecesDone} pieces` : ', killed before its check ended') +
        `; last status ${last === undefined ? 'none' : `${last.activity} ${last.piecesDone}/${meta.pieceCount}`}` +
        `; disk verifies ${diskCount}; next start: ${expectRestart}`
    )
    onDiskAtKill = diskCount
    await engine.close()
  }

  const final = await spawnEngine(t, options)
  await final.waitStatus((s) => s.activity === 'seeding', 45_000, 'the last restart to complete')
  const all = await final.statuses()
  const afterCheck = checkRun(plan.length + 1, all)
  const last = all.at(-1)!
  assert.equal(last.piecesDone, meta.pieceCount)
  assert.equal(last.fractionDone, 1)
  assert.equal(await compareTrees(fx.root, join(out, 'payload')), undefined, `final data differs (seed ${SEED})`)
  assert.ok((await verifiedOnDisk(out, meta)).every(Boolean))
  t.diagnostic(`final run: ${activities(all)}, resumed with ${afterCheck?.piecesDone ?? '?'} pieces, downloaded ${last.downTotal} of ${SIZE} bytes`)
  await final.close()
})

test(`seeding: SIGKILL at ${KILLS} random points (seed ${SEED}), restart on the same folder: data never written, fractionDone 1 after every check, aria2c completes identical`, { timeout: 30_000 + KILLS * 10_000 }, async (t) => {
  const rng = rngOf(SEED ^ 0x5eed)
  const plan = killPlan(rng, KILLS, 'busy')
  t.diagnostic(`seed ${SEED} (replay: KILL_SEED=${SEED} KILL_POINTS=${KILLS}); plan: ${plan.map(describe).join('; ')}`)
  const fx = await fixture(t, 'kill-points-seed-')
  const { meta } = fx
  // The engine seeds a copy, so the original stays the reference.
  const seedFolder = join(fx.tmp, 'seeder')
  await cp(fx.root, join(seedFolder, 'payload'), { recursive: true, preserveTimestamps: true })
  const stamps = await fileStamps(seedFolder, meta)
  const leechDir = join(fx.tmp, 'leech')
  const leecher = await startAria2Leecher({ torrentPath: fx.torrentPath, dir: leechDir, maxDownloadBytesPerSec: RATE, logLevel: 'warn' })
  t.after(() => leecher.close())
  // One port for every restart: aria2c keeps the engine's address from the tracker.
  const port = await freePort()
  const options: EngineProcessOptions = { torrentPath: fx.torrentPath, savefolder: seedFolder, port, peers: [leecher.peer] }
  const uploading = (s: TorrentStats): boolean => s.upTotal > 0

  const checkRun = (run: number, all: readonly TorrentStats[]): TorrentStats | undefined => {
    for (const s of all) assert.equal(s.downTotal, 0, `run ${run}: a seeder downloaded: ${JSON.stringify(s)}`)
    const afterCheck = all.find((s) => !isChecking(s))
    if (afterCheck !== undefined) {
      assert.equal(afterCheck.fractionDone, 1, `run ${run}: after its check: ${JSON.stringify(afterCheck)} (seed ${SEED})`)
      assert.equal(afterCheck.piecesDone, meta.pieceCount)
      for (const s of all.filter((x) => !isChecking(x))) assert.equal(s.activity, 'seeding', `run ${run}: ${JSON.stringify(s)}`)
    }
    return afterCheck
  }

  for (let i = 0; i < plan.length; i++) {
    const point = plan[i]!
    const engine = await spawnEngine(t, options)
    const all = await killAt(engine, point, uploading, () => leecher.process.exitInfo() !== undefined)
    const afterCheck = checkRun(i + 1, all)
    assert.equal(await compareTrees(fx.root, join(seedFolder, 'payload')), undefined, `kill ${i + 1}: the seeder's data changed (seed ${SEED})`)
    assert.deepEqual(await fileStamps(seedFolder, meta), stamps, `kill ${i + 1}: the seeder touched its files (seed ${SEED})`)
    const record = await resumeRecordOf(seedFolder, meta)
    const last = all.at(-1)
    t.diagnostic(
      `kill ${i + 1} ${describe(point)}: run went ${activities(all)}` +
        (afterCheck !== undefined ? `, fractionDone 1 after check` : ', killed before its check ended') +
        `; uploaded ${last?.upTotal ?? 0} bytes; resume record ${record === undefined ? 'absent' : `${record.pieces.length} pieces, ${record.trusted.length} trusted`}`
    )
    await engine.close()
  }

  const final = await spawnEngine(t, options)
  await final.waitStatus((s) => s.activity === 'seeding', 20_000, 'the last restart to seed')
  await leecher.waitDone(40_000)
  assert.equal(await compareTrees(fx.root, join(leechDir, 'payload'), { ignoreExtra: true }), undefined, `aria2c's data differs (seed ${SEED})`)
  const all = await final.statuses()
  checkRun(plan.length + 1, all)
  await final.close()
  assert.equal(await compareTrees(fx.root, join(seedFolder, 'payload')), undefined, `the seeder's data changed (seed ${SEED})`)
  assert.deepEqual(await fileStamps(seedFolder, meta), stamps, 'the seeder touched its files')
  t.diagnostic(`final run: ${activities(all)}, uploaded ${all.at(-1)?.upTotal ?? 0} bytes in this run`)
})
