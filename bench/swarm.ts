/**
 * Many peers: this project's engine downloads one torrent from a
 * single seeder (aria2c, then an engine instance) and from a swarm of 8
 * seeders, half engine instances and half aria2c, in the same run. Reports
 * MB/s, the leecher's CPU, how many seeders contributed, and the bytes wasted:
 * blocks refused outside endgame (the engine's `refusedOutsideEndgame`
 * diagnostic; outside endgame no block is asked of two peers, so any such byte
 * is a piece part downloaded twice) and everything discarded.
 *
 *   npm run bench:swarm [-- --quick] [--runs N] [--docs|--no-docs]
 *
 * Full: 1 GiB, 8 seeders, `runs` downloads per configuration. Quick: 64 MiB,
 * 4 seeders, one download each. No tracker: the leecher gets its peers
 * explicitly; every seeder has its own folder holding a hard link to the
 * dataset (one copy on disk and in the page cache).
 */
import { linkSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { aria2Version, startAria2Seeder } from './lib/aria2.ts'
import { ensureDataset, warmCache } from './lib/data.ts'
import { startEngineSeeder } from './lib/engine-seeder.ts'
import { leechOnce, type LeechRun } from './lib/leech.ts'
import { freePort } from './lib/net.ts'
import { GiB, MB, MiB, benchDir, workDir } from './lib/paths.ts'
import { machineLine, parseBenchArgs, stamp, table, updateSection, type BenchOptions } from './lib/report.ts'
import { cell, fmt, ratio, summarize, type Summary } from './lib/stats.ts'

interface Seeder {
  readonly kind: 'engine' | 'aria2c'
  readonly peer: string
  /** CPU seconds so far (from /proc). */
  cpuS(): number
  stop(): Promise<void>
}

export interface SwarmConfigResult {
  readonly name: string
  readonly seeders: number
  readonly runs: readonly LeechRun[]
  readonly mbps: Summary
  readonly transferMbps: Summary
  readonly cpuPerGiB: Summary
  /** CPU of every seeder process (idle ones included) per GiB downloaded. */
  readonly seedersCpuPerGiB: Summary
  /** Largest refused-outside-endgame byte count of any run (null: not reported). */
  readonly refusedOutsideEndgameMax: number | null
  readonly discardedMiB: Summary
  /** Fewest seeders that sent any accepted byte, over the runs. */
  readonly contributorsMin: number
  readonly failures: readonly string[]
}

export interface SwarmOutcome {
  readonly results: readonly SwarmConfigResult[]
  readonly summary: string
  readonly markdown: string
  /** The seeder count of the many-seeders target (or the quick variant's). */
  readonly met: boolean
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null)

const summarizeConfig = (name: string, seeders: number, runs: readonly LeechRun[], seederCpu: readonly number[], size: number): SwarmConfigResult => {
  const good = runs.filter((r) => r.error === null)
  const outside = good.map((r) => num(r.report?.['refusedOutsideEndgame']))
  return {
    name,
    seeders,
    runs,
    mbps: summarize(good.map((r) => size / MB / r.wallS)),
    transferMbps: summarize(good.filter((r) => r.transferS !== null).map((r) => size / MB / r.transferS!)),
    cpuPerGiB: summarize(good.map((r) => r.cpuS / (size / GiB))),
    seedersCpuPerGiB: summarize(seederCpu.map((c) => c / (size / GiB))),
    refusedOutsideEndgameMax: outside.some((x) => x === null) || outside.length === 0 ? null : Math.max(...(outside as number[])),
    discardedMiB: summarize(good.map((r) => (num(r.report?.['discarded']) ?? NaN) / MiB)),
    contributorsMin: Math.min(
      ...good.map((r) => Object.values((r.report?.['contributed'] ?? {}) as Record<string, number>).filter((b) => b > 0).length)
    ),
    failures: runs.filter((r) => r.error !== null).map((r) => r.error!)
  }
}

export const runSwarmBench = async (opts: BenchOptions, log: (s: string) => void = console.log): Promise<SwarmOutcome> => {
  const size = opts.quick ? 64 * MiB : GiB
  const swarmSize = opts.quick ? 4 : 8
  const runs = opts.quick ? 1 : opts.runs
  const timeoutMs = opts.timeoutS !== null ? opts.timeoutS * 1000 : opts.quick ? 30_000 : 300_000
  const ds = ensureDataset(size, log)
  warmCache(ds.file)
  const base = join(workDir, 'swarm')
  rmSync(base, { recursive: true, force: true })
  const seeders: Seeder[] = []
  try {
    // Alternate engine and aria2c; each gets a folder with a hard link to the data.
    // Full runs add as many aria2c seeders again, for an all-aria2c swarm of the same size.
    const extraAria2 = opts.quick ? 0 : swarmSize / 2
    const starting: Promise<Seeder>[] = []
    for (let i = 0; i < swarmSize + extraAria2 * 2; i += i < swarmSize ? 1 : 2) {
      const dir = join(base, `seed-${i}`)
      mkdirSync(dir, { recursive: true })
      linkSync(ds.file, join(dir, ds.name))
      const port = await freePort()
      starting.push(
        i % 2 === 0
          ? startAria2Seeder(ds.torrentFile, dir, port).then((s) => ({ kind: 'aria2c' as const, peer: `127.0.0.1:${port}`, cpuS: () => s.snapshot().cpuS, stop: s.stop }))
          : startEngineSeeder(ds.torrentFile, dir, port, 120_000).then((s) => ({ kind: 'engine' as const, peer: `127.0.0.1:${port}`, cpuS: () => s.snapshot().cpuS, stop: s.stop }))
      )
    }
    const settled = await Promise.allSettled(starting)
    for (const s of settled) if (s.status === 'fulfilled') seeders.push(s.value)
    const failed = settled.find((s) => s.status === 'rejected')
    if (failed) throw (failed as PromiseRejectedResult).reason
    log(`[swarm] ${seeders.length} seeders up: ${seeders.map((s) => s.kind).join(', ')}`)

    const a2 = (await aria2Version()).replace(/^aria2 version /, 'aria2c ')
    const aria2Peers = seeders.filter((s) => s.kind === 'aria2c').map((s) => s.peer)
    const engineIndexes = seeders.flatMap((s, i) => (s.kind === 'engine' ? [i] : []))
    const mixed = seeders.slice(0, swarmSize).map((s) => s.peer)
    const configs = [
      { name: `one ${a2} seeder`, peers: [aria2Peers[0]!] },
      { name: 'one engine seeder', peers: [seeders[engineIndexes[0]!]!.peer] },
      { name: `${swarmSize} seeders (${swarmSize / 2} engine, ${swarmSize / 2} aria2c)`, peers: mixed, target: true },
      ...(aria2Peers.length >= swarmSize ? [{ name: `${swarmSize} ${a2} seeders`, peers: aria2Peers.slice(0, swarmSize) }] : [])
    ]
    const byConfig = new Map<string, LeechRun[]>(configs.map((c) => [c.name, []]))
    const seederCpu = new Map<string, number[]>(configs.map((c) => [c.name, []]))
    const allSeedersCpu = (): number => seeders.reduce((sum, s) => sum + s.cpuS(), 0)
    for (let i = 1; i <= runs; i++) {
      for (const c of configs) {
        const mine = byConfig.get(c.name)!
        if (mine.filter((r) => r.error !== null).length >= 2) continue
        const cpu0 = allSeedersCpu()
        const r = await leechOnce(
          {
            name: `swarm-${c.peers.length}`,
            verify: 'sample',
            command: (out) => [
              process.execPath,
              [
                '--import',
                'tsx',
                join(benchDir, 'leech-engine.ts'),
                '--torrent',
                ds.torrentFile,
                '--out',
                out,
                ...c.peers.flatMap((p) => ['--peer', p]),
                '--timeout-ms',
                String(timeoutMs)
              ]
            ]
          },
          ds.file,
          timeoutMs + 10_000
        )
        mine.push(r)
        if (r.error === null) seederCpu.get(c.name)!.push(allSeedersCpu() - cpu0)
        log(
          `[swarm] run ${i}/${runs} ${c.name}: ` +
            (r.error
              ? `FAILED ${r.error}`
              : `${fmt(size / MB / r.wallS)} MB/s, refused outside endgame ${String(r.report?.['refusedOutsideEndgame'])} B, ` +
                `discarded ${String(r.report?.['discarded'])} B, from ${Object.keys((r.report?.['contributed'] ?? {}) as object).length} peers`)
        )
      }
    }
    const results = configs.map((c) => summarizeConfig(c.name, c.peers.length, byConfig.get(c.name)!, seederCpu.get(c.name)!, size))
    return swarmReport(results, configs.findIndex((c) => 'target' in c), { size, runs, swarmSize })
  } finally {
    await Promise.allSettled(seeders.map((s) => s.stop()))
    rmSync(base, { recursive: true, force: true })
  }
}

const swarmReport = (results: readonly SwarmConfigResult[], target: number, ctx: { size: number; runs: number; swarmSize: number }): SwarmOutcome => {
  const singles = results.filter((r) => r.seeders === 1 && r.transferMbps.n > 0)
  const best = singles.length ? Math.max(...singles.map((r) => r.transferMbps.median)) : NaN
  const many = results[target]!
  const noDuplicates = many.refusedOutsideEndgameMax === 0
  const met = many.failures.length === 0 && many.transferMbps.median >= best && noDuplicates
  const rows = results.map((r) => [
    r.name,
    cell(r.mbps),
    cell(r.transferMbps),
    ratio(r.transferMbps.median, best),
    cell(r.cpuPerGiB),
    cell(r.seedersCpuPerGiB),
    r.refusedOutsideEndgameMax === null ? '–' : String(r.refusedOutsideEndgameMax),
    cell(r.discardedMiB),
    Number.isFinite(r.contributorsMin) ? String(r.contributorsMin) : '–',
    r.failures.length ? `${r.failures.length} failed: ${r.failures[0]}` : `${r.runs.length}/${r.runs.length} ok`
  ])
  const label = ctx.size >= GiB ? `${ctx.size / GiB} GiB` : `${ctx.size / MiB} MiB`
  const markdown = [
    '## Many peers',
    '',
    `This project's engine downloads ${label} (one file, 256 KiB pieces) over 127.0.0.1 from one aria2c seeder, from one ` +
      `engine seeder, from ${ctx.swarmSize} seeders at once (engine instances and aria2c, alternating) and, in full runs, ` +
      `from ${ctx.swarmSize} aria2c seeders (which tells the leecher's cost of many peers from the seeders' cost), ${ctx.runs} ` +
      'time(s) each, round-robin; peers given explicitly, no tracker; data in the page cache, one copy hard-linked into ' +
      "every seeder's folder. \"refused outside endgame\" is the largest count, over the runs, of block bytes the engine " +
      'refused while not in endgame (`refusedOutsideEndgame`, a diagnostic of lib/engine/torrent/torrent.ts): outside endgame ' +
      'no block is requested from two peers, so a non-zero count means parts of pieces arrived twice. "discarded" is ' +
      'every refused or hash-failed byte, endgame included. "seeders used" is the fewest peers that sent accepted ' +
      'data in a run. Transfer MB/s is from adding the torrent to done; MB/s includes the process start. All seeders ' +
      'and the leecher share the 2 cores: "seeders CPU s per GiB" is the CPU every seeder process spent during a run ' +
      '(from /proc), per GiB downloaded.',
    '',
    `Measured ${stamp()} on ${machineLine()}.`,
    '',
    table(
      ['seeders', 'MB/s', 'transfer MB/s', 'vs best single', 'leecher CPU s per GiB', 'seeders CPU s per GiB', 'refused outside endgame B', 'discarded MiB', 'seeders used', 'runs'],
      rows
    ),
    '',
    `- Target: from ${ctx.swarmSize} seeders at least as fast as from one (${ratio(many.transferMbps.median, best)} of the ` +
      `faster single seeder) with no piece part downloaded twice outside endgame (${many.refusedOutsideEndgameMax ?? 'not reported'} ` +
      `bytes): ${met ? 'met' : 'not met'}.`,
    '',
    `Reproduce: \`npm run bench:swarm${ctx.size < GiB ? ' -- --quick' : ''}\``
  ].join('\n')
  const summary =
    `${ctx.swarmSize} seeders ${fmt(many.transferMbps.median)} MB/s, ${ratio(many.transferMbps.median, best)} of one; ` +
    `refused outside endgame ${many.refusedOutsideEndgameMax ?? '–'} B; target ${met ? 'met' : 'not met'}`
  return { results, summary, markdown, met }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const opts = parseBenchArgs(process.argv.slice(2))
  const outcome = await runSwarmBench(opts)
  console.log('\n' + outcome.markdown)
  console.log(`[bench] result swarm: ${outcome.summary}`)
  if (opts.docs) updateSection('swarm', outcome.markdown)
  process.exit(0)
}
