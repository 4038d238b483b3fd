/**
 * Seeding benchmark: aria2c downloads the 1 GiB torrent
 * from this project's engine seeding existing data (bench/seed-engine.ts),
 * and, in the same run, from an aria2c seeder. Each seeder has its own
 * tracker so the leecher sees exactly one seeder. Reports the leecher's MB/s
 * and the seeder's CPU s per GiB uploaded (from /proc) and peak RSS.
 *
 *   npm run bench:seed [-- --quick] [--runs N] [--no-engine] [--docs|--no-docs] [--ab DIR]
 *
 * `--ab DIR`: the engine seeder alone, DIR's checkout against this one,
 * alternating (bench/lib/ab.ts).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { aria2LeechArgs, aria2Version, startAria2Seeder } from './lib/aria2.ts'
import { cacheResidency, ensureDataset, torrentWithAnnounce, warmCache } from './lib/data.ts'
import { engineHas } from './lib/engine.ts'
import { engineRuntimeNote } from './lib/compiled.ts'
import { startEngineSeeder } from './lib/engine-seeder.ts'
import { leechOnce, type LeechRun } from './lib/leech.ts'
import type { ProcSnapshot } from './lib/measure.ts'
import { freePort, waitFor } from './lib/net.ts'
import { GiB, MB, MiB, workDir } from './lib/paths.ts'
import { machineLine, parseBenchArgs, stamp, table, updateSection, type BenchOptions } from './lib/report.ts'
import { cell, fmt, ratio, summarize, type Summary } from './lib/stats.ts'
import { startTracker, type LocalTracker } from './lib/tracker.ts'
import { abMarkdown, abSides } from './lib/ab.ts'

interface Seeder {
  readonly pid: number
  snapshot(): ProcSnapshot
  stop(): Promise<void>
}

export interface SeedResult {
  readonly name: string
  readonly skipped: string | null
  readonly leecherMbps: Summary
  readonly seederCpuPerGiB: Summary
  readonly seederPeakRssMiB: number
  /** Engine only: time from start to "seeding" (includes checking the data). */
  readonly readyS: number | null
  readonly failures: readonly string[]
  readonly runs: number
}

const ENGINE = 'torrent-patron (this project)'

export const runSeedBench = async (opts: BenchOptions, log: (s: string) => void = console.log): Promise<{ markdown: string; results: SeedResult[] }> => {
  const size = opts.quick ? 64 * MiB : GiB
  const timeoutMs = opts.timeoutS !== null ? opts.timeoutS * 1000 : opts.quick ? 20_000 : 300_000
  const ds = ensureDataset(size, log)
  warmCache(ds.file)
  const residency = cacheResidency(ds.file)
  const runDir = join(workDir, 'seed')
  mkdirSync(runDir, { recursive: true })
  const a2name = (await aria2Version()).replace(/^aria2 version /, 'aria2c ')
  if (opts.ab !== undefined) return runSeedAb(opts.ab, { size, timeoutMs, file: ds.file, torrentFile: ds.torrentFile, dir: ds.dir, infoHash: ds.infoHash, runDir, runs: opts.runs, a2name }, log)

  const trackers: LocalTracker[] = []
  const seeders: Seeder[] = []
  try {
    const setups: { name: string; torrent: string; seeder: Seeder | null; skipped: string | null; readyS: number | null }[] = []

    const trA = await startTracker()
    trackers.push(trA)
    const torrentA = torrentWithAnnounce(ds.torrentFile, trA.url, join(runDir, 'aria2-seeded.torrent'))
    const a2seeder = await startAria2Seeder(torrentA, ds.dir, await freePort())
    seeders.push(a2seeder)
    await waitFor('the aria2c seeder to announce', () => trA.peerCount(ds.infoHash) > 0, 20_000)

    let engineSetup: (typeof setups)[number] = {
      name: ENGINE,
      torrent: '',
      seeder: null,
      skipped: opts.noEngine ? 'skipped (--no-engine)' : engineHas('client', 'hasher', 'storage') ? null : 'not available yet (lib/engine/client/client.ts, hasher.ts or file-storage.ts missing)',
      readyS: null
    }
    if (!engineSetup.skipped) {
      const trB = await startTracker()
      trackers.push(trB)
      const torrentB = torrentWithAnnounce(ds.torrentFile, trB.url, join(runDir, 'engine-seeded.torrent'))
      try {
        const s = await startEngineSeeder(torrentB, ds.dir, await freePort(), timeoutMs)
        seeders.push(s)
        await waitFor('the engine seeder to announce', () => trB.peerCount(ds.infoHash) > 0, 20_000)
        engineSetup = { ...engineSetup, torrent: torrentB, seeder: s, readyS: s.readyS }
      } catch (e) {
        engineSetup = { ...engineSetup, skipped: `failed to start: ${e instanceof Error ? e.message : String(e)}` }
      }
    }
    setups.push(engineSetup, { name: a2name, torrent: torrentA, seeder: a2seeder, skipped: null, readyS: null })

    const leechPort = await freePort()
    const runs = new Map<string, { leech: LeechRun; seederCpuS: number }[]>(setups.map((s) => [s.name, []]))
    for (let i = 1; i <= opts.runs; i++) {
      for (const s of setups) {
        if (s.skipped || !s.seeder) continue
        // A seeder that failed twice will fail again: do not burn timeouts on it.
        if (runs.get(s.name)!.filter((r) => r.leech.error !== null).length >= 2) continue
        const before = s.seeder.snapshot()
        const leech = await leechOnce(
          { name: `aria2c-from-${s.name}`, verify: 'sample', command: (out) => ['aria2c', aria2LeechArgs(s.torrent, out, leechPort)] },
          ds.file,
          timeoutMs
        )
        const seederCpuS = s.seeder.snapshot().cpuS - before.cpuS
        runs.get(s.name)!.push({ leech, seederCpuS })
        log(
          `[seed] run ${i}/${opts.runs} aria2c from ${s.name}: ` +
            (leech.error ? `FAILED ${leech.error}` : `${fmt(size / MB / leech.wallS)} MB/s, seeder ${fmt(seederCpuS / (size / GiB))} CPU s/GiB`)
        )
      }
    }
    const results: SeedResult[] = setups.map((s) => {
      const rs = runs.get(s.name)!
      const good = rs.filter((r) => r.leech.error === null)
      let peak = NaN
      try {
        if (s.seeder) peak = s.seeder.snapshot().peakRssBytes / MiB
      } catch {}
      return {
        name: s.name,
        skipped: s.skipped,
        leecherMbps: summarize(good.map((r) => size / MB / r.leech.wallS)),
        seederCpuPerGiB: summarize(good.map((r) => r.seederCpuS / (size / GiB))),
        seederPeakRssMiB: peak,
        readyS: s.readyS,
        failures: rs.filter((r) => r.leech.error !== null).map((r) => r.leech.error!),
        runs: rs.length
      }
    })
    return { results, markdown: seedMarkdown(results, { size, runs: opts.runs, residency, aria2: a2name }) }
  } finally {
    for (const s of seeders.reverse()) await s.stop()
    for (const t of trackers) await t.close()
  }
}

/** The A/B: an engine seeder of each checkout (each on its own tracker), aria2c leeching from them in turn. */
const runSeedAb = async (
  dir: string,
  c: { size: number; timeoutMs: number; file: string; torrentFile: string; dir: string; infoHash: string; runDir: string; runs: number; a2name: string },
  log: (s: string) => void
): Promise<{ markdown: string; results: SeedResult[] }> => {
  const trackers: LocalTracker[] = []
  const seeders: Seeder[] = []
  try {
    const sides: { name: string; torrent: string; seeder: Seeder; runs: { leech: LeechRun; seederCpuS: number }[] }[] = []
    for (const side of abSides(dir)) {
      const tr = await startTracker()
      trackers.push(tr)
      const torrent = torrentWithAnnounce(c.torrentFile, tr.url, join(c.runDir, `ab-${sides.length}.torrent`))
      const s = await startEngineSeeder(torrent, c.dir, await freePort(), c.timeoutMs, side.root)
      seeders.push(s)
      await waitFor(`the ${side.name} seeder to announce`, () => tr.peerCount(c.infoHash) > 0, 20_000)
      sides.push({ name: side.name, torrent, seeder: s, runs: [] })
    }
    const leechPort = await freePort()
    for (let i = 1; i <= c.runs; i++) {
      for (const s of sides) {
        const before = s.seeder.snapshot()
        const leech = await leechOnce(
          { name: `aria2c-from-${s.name}`, verify: 'sample', command: (out) => ['aria2c', aria2LeechArgs(s.torrent, out, leechPort)] },
          c.file,
          c.timeoutMs
        )
        const seederCpuS = s.seeder.snapshot().cpuS - before.cpuS
        s.runs.push({ leech, seederCpuS })
        log(`[seed] run ${i}/${c.runs} aria2c from ${s.name}: ` + (leech.error ? `FAILED ${leech.error}` : `${fmt(c.size / MB / leech.wallS)} MB/s, seeder ${fmt(seederCpuS / (c.size / GiB))} CPU s/GiB`))
      }
    }
    const rows = sides.map((s) => {
      const good = s.runs.filter((r) => r.leech.error === null)
      const failed = s.runs.length - good.length
      return {
        name: s.name,
        mbps: summarize(good.map((r) => c.size / MB / r.leech.wallS)),
        cpuPerGiB: summarize(good.map((r) => r.seederCpuS / (c.size / GiB))),
        rssMiB: summarize([s.seeder.snapshot().peakRssBytes / MiB]),
        runs: failed ? `${failed} failed: ${s.runs.find((r) => r.leech.error)!.leech.error}` : `${s.runs.length}/${s.runs.length} ok`
      }
    })
    const size = c.size >= GiB ? `${c.size / GiB} GiB` : `${c.size / MiB} MiB`
    const markdown = abMarkdown(
      `Seeding A/B (${size})`,
      `${c.a2name} leeching ${size} (one file, 256 KiB pieces) over 127.0.0.1 from an engine seeder of each checkout (each on its own ` +
        `tracker), alternating, ${c.runs} runs each. MB/s is the leecher's; CPU is the seeder's /proc delta over each download; peak RSS the seeder's ` +
        'VmHWM at the end of the session. ' + engineRuntimeNote(),
      [rows[0]!, rows[1]!]
    )
    return { markdown, results: [] }
  } finally {
    for (const s of seeders.reverse()) await s.stop()
    for (const t of trackers) await t.close()
  }
}

const seedMarkdown = (results: readonly SeedResult[], ctx: { size: number; runs: number; residency: number; aria2: string }): string => {
  const a2 = results.find((r) => r.name !== ENGINE)
  const engine = results.find((r) => r.name === ENGINE)
  const rows = results.map((r) =>
    r.skipped
      ? [r.name, r.skipped, '', '', '', '']
      : [
          r.name,
          cell(r.leecherMbps),
          cell(r.seederCpuPerGiB),
          fmt(r.seederPeakRssMiB, 0),
          a2 ? ratio(r.leecherMbps.median, a2.leecherMbps.median) : '–',
          r.failures.length ? `${r.failures.length} failed: ${r.failures[0]}` : `${r.runs}/${r.runs} ok`
        ]
  )
  const size = ctx.size >= GiB ? `${ctx.size / GiB} GiB` : `${ctx.size / MiB} MiB`
  const lines = [
    '## Seeding',
    '',
    `${ctx.aria2} downloads ${size} (one file, 256 KiB pieces) from one seeder over 127.0.0.1, ${ctx.runs} times per seeder, ` +
      'alternating; each seeder announces to its own embedded tracker so the leecher sees only it. The seeders start from the ' +
      `data already on disk (page cache: ${Number.isFinite(ctx.residency) ? `${Math.round(ctx.residency * 100)}% resident` : 'pre-read'}; ` +
      'aria2c with --bt-seed-unverified, the engine after checking it). Seeder CPU is the /proc delta over each download; ' +
      'peak RSS is the seeder\'s VmHWM at the end of the session. ' + engineRuntimeNote(),
    '',
    `Measured ${stamp()} on ${machineLine()}.`,
    '',
    table(['seeder', 'aria2c leech MB/s', 'seeder CPU s per GiB', 'seeder peak RSS MiB', 'vs aria2c seeder', 'runs'], rows),
    ''
  ]
  if (engine && !engine.skipped && a2) {
    lines.push(
      `- Engine ready to seed after ${fmt(engine.readyS ?? NaN)} s (start, check of the existing data, listen).`,
      `- Targets: at least the aria2c-to-aria2c throughput (${ratio(engine.leecherMbps.median, a2.leecherMbps.median)}): ` +
        `${engine.leecherMbps.median >= a2.leecherMbps.median ? 'met' : 'not met'}. 1.2x it: ` +
        `${engine.leecherMbps.median >= 1.2 * a2.leecherMbps.median ? 'met' : 'not met'}.`,
      ''
    )
  }
  lines.push(`Reproduce: \`npm run bench:seed${ctx.size < GiB ? ' -- --quick' : ''}\``)
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const opts = parseBenchArgs(process.argv.slice(2))
  const outcome = await runSeedBench(opts)
  console.log('\n' + outcome.markdown)
  if (opts.docs) updateSection('seed', outcome.markdown)
  process.exit(0)
}
