/**
 * Memory flat: the engine's peak RSS downloading a 4 GiB torrent
 * against a 1 GiB one, from one aria2c seeder over 127.0.0.1, in the same run;
 * aria2c as leecher for reference. A flat engine keeps a bounded window of
 * pieces in memory whatever the torrent's size.
 *
 *   npm run bench:large [-- --quick] [--runs N] [--keep-data] [--docs|--no-docs]
 *
 * Full: 1 GiB and 4 GiB, `runs` downloads per leecher and size. Quick: 64 MiB
 * and 256 MiB, the engine only, once each. The 4 GiB dataset (and every
 * download) is deleted afterwards unless --keep-data: it needs its size twice
 * on disk meanwhile.
 */
import { mkdirSync, rmSync, statfsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { aria2LeechArgs, aria2Version, startAria2Seeder } from './lib/aria2.ts'
import { ensureDataset, torrentWithAnnounce, warmCache, type Dataset } from './lib/data.ts'
import { engineChild, engineRuntimeNote } from './lib/compiled.ts'
import { leechOnce, type LeechRun } from './lib/leech.ts'
import { freePort, waitFor } from './lib/net.ts'
import { GiB, MB, MiB, benchDir, workDir } from './lib/paths.ts'
import { machineLine, parseBenchArgs, stamp, table, updateSection, type BenchOptions } from './lib/report.ts'
import { cell, fmt, ratio, summarize, type Summary } from './lib/stats.ts'
import { startTracker } from './lib/tracker.ts'

interface SizeResult {
  readonly leecher: string
  readonly size: number
  readonly rssMiB: Summary
  readonly mbps: Summary
  readonly failures: readonly string[]
  readonly runs: number
}

export interface LargeOutcome {
  readonly results: readonly SizeResult[]
  readonly met: boolean
  readonly summary: string
  readonly markdown: string
}

const ENGINE = 'torrent-patron (this project)'
const label = (size: number): string => (size >= GiB ? `${size / GiB} GiB` : `${size / MiB} MiB`)

/** Every leecher `runs` times on one dataset, from one aria2c seeder (explicit peer for the engine, tracker for aria2c). */
const leechDataset = async (ds: Dataset, runs: number, timeoutMs: number, withAria2: boolean, log: (s: string) => void): Promise<SizeResult[]> => {
  warmCache(ds.file)
  const runDir = join(workDir, 'large')
  mkdirSync(runDir, { recursive: true })
  const tracker = await startTracker()
  const torrent = torrentWithAnnounce(ds.torrentFile, tracker.url, join(runDir, `${ds.name}.torrent`))
  const seeder = await startAria2Seeder(torrent, ds.dir, await freePort())
  const peer = `127.0.0.1:${seeder.port}`
  try {
    await waitFor('the aria2c seeder to announce', () => tracker.peerCount(ds.infoHash) > 0, 20_000)
    const a2 = (await aria2Version()).replace(/^aria2 version /, 'aria2c ')
    const a2Port = await freePort()
    const specs = [
      {
        name: ENGINE,
        verify: 'sample' as const,
        command: (out: string): [string, string[]] => [
          process.execPath,
          [...engineChild('leech-engine'), '--torrent', torrent, '--out', out, '--peer', peer, '--timeout-ms', String(timeoutMs)]
        ]
      },
      { name: a2, verify: 'sample' as const, command: (out: string): [string, string[]] => ['aria2c', aria2LeechArgs(torrent, out, a2Port)] }
    ].slice(0, withAria2 ? 2 : 1)
    const byName = new Map<string, LeechRun[]>(specs.map((s) => [s.name, []]))
    for (let i = 1; i <= runs; i++) {
      for (const spec of specs) {
        const mine = byName.get(spec.name)!
        if (mine.filter((r) => r.error !== null).length >= 2) continue
        const r = await leechOnce(spec, ds.file, timeoutMs + 10_000)
        mine.push(r)
        log(
          `[large] ${label(ds.size)} run ${i}/${runs} ${spec.name}: ` +
            (r.error ? `FAILED ${r.error}` : `${fmt(ds.size / MB / r.wallS)} MB/s, peak RSS ${fmt(r.peakRssBytes / MiB)} MiB`)
        )
      }
    }
    return specs.map((s) => {
      const all = byName.get(s.name)!
      const good = all.filter((r) => r.error === null)
      return {
        leecher: s.name,
        size: ds.size,
        rssMiB: summarize(good.map((r) => r.peakRssBytes / MiB)),
        mbps: summarize(good.map((r) => ds.size / MB / r.wallS)),
        failures: all.filter((r) => r.error !== null).map((r) => r.error!),
        runs: all.length
      }
    })
  } finally {
    await seeder.stop()
    await tracker.close()
  }
}

export const runLargeBench = async (opts: BenchOptions & { keepData?: boolean }, log: (s: string) => void = console.log): Promise<LargeOutcome> => {
  const [small, big] = opts.quick ? [64 * MiB, 256 * MiB] : [GiB, 4 * GiB]
  const runs = opts.quick ? 1 : opts.runs
  const timeoutMs = opts.timeoutS !== null ? opts.timeoutS * 1000 : opts.quick ? 60_000 : 600_000
  mkdirSync(workDir, { recursive: true })
  const fs = statfsSync(workDir)
  // The big dataset, one download of it, and some room.
  if (fs.bavail * fs.bsize < 2 * big + GiB) throw new Error(`not enough disk in ${workDir} for 2 x ${label(big)}`)
  const results: SizeResult[] = []
  results.push(...(await leechDataset(ensureDataset(small, log), runs, timeoutMs, !opts.quick, log)))
  const bigDs = ensureDataset(big, log)
  try {
    results.push(...(await leechDataset(bigDs, runs, timeoutMs, !opts.quick, log)))
  } finally {
    // The quick pair is small enough to keep for the next run; gigabytes are not.
    if (!opts.keepData && big >= GiB) {
      rmSync(bigDs.dir, { recursive: true, force: true })
      rmSync(bigDs.torrentFile, { force: true })
      rmSync(join(dirname(bigDs.torrentFile), `data-${label(big).replace(' ', '')}.ok`), { force: true })
    }
  }
  const of = (leecher: string, size: number): SizeResult | undefined => results.find((r) => r.leecher === leecher && r.size === size)
  const leechers = [...new Set(results.map((r) => r.leecher))]
  const rows = leechers.map((l) => {
    const a = of(l, small)!
    const b = of(l, big)!
    const fails = [...a.failures, ...b.failures]
    return [
      l,
      cell(a.rssMiB, 0),
      cell(b.rssMiB, 0),
      ratio(b.rssMiB.max, a.rssMiB.max),
      cell(a.mbps),
      cell(b.mbps),
      fails.length ? `${fails.length} failed: ${fails[0]}` : `${a.runs + b.runs}/${a.runs + b.runs} ok`
    ]
  })
  const e1 = of(ENGINE, small)!
  const e4 = of(ENGINE, big)!
  // "The same" peak RSS: the largest 4 GiB run within 10% of the largest 1 GiB run.
  const flat = e4.rssMiB.max / e1.rssMiB.max
  const met = e1.failures.length + e4.failures.length === 0 && flat <= 1.1
  const markdown = [
    '## Memory with torrent size',
    '',
    `Each leecher downloads ${label(small)} and then ${label(big)} (one file, 256 KiB pieces) from one aria2c seeder over ` +
      `127.0.0.1 (the engine gets it as an explicit peer, aria2c through an embedded tracker), ${runs} time(s) per size, ` +
      'into a fresh folder deleted after each run. Peak RSS is the kernel\'s maximum resident set of the leecher process ' +
      '(`/usr/bin/time` %M); "growth" is the largest peak at the larger size over the largest at the smaller. The larger ' +
      `dataset is deleted afterwards. ${engineRuntimeNote()}`,
    '',
    `Measured ${stamp()} on ${machineLine()}.`,
    '',
    table(['leecher', `peak RSS MiB, ${label(small)}`, `peak RSS MiB, ${label(big)}`, 'growth', `MB/s, ${label(small)}`, `MB/s, ${label(big)}`, 'runs'], rows),
    '',
    `- Target: the same engine peak RSS for ${label(big)} as for ${label(small)} (growth ${flat.toFixed(2)}x; ` +
      `taken as met within 1.10x): ${met ? 'met' : 'not met'}.`,
    '',
    `Reproduce: \`npm run bench:large${opts.quick ? ' -- --quick' : ''}\``
  ].join('\n')
  const summary = `engine peak RSS ${fmt(e1.rssMiB.max, 0)} MiB at ${label(small)}, ${fmt(e4.rssMiB.max, 0)} MiB at ${label(big)} (${flat.toFixed(2)}x); target ${met ? 'met' : 'not met'}`
  return { results, met, summary, markdown }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2)
  const opts = parseBenchArgs(argv)
  const outcome = await runLargeBench({ ...opts, keepData: argv.includes('--keep-data') })
  console.log('\n' + outcome.markdown)
  console.log(`[bench] result large: ${outcome.summary}`)
  if (opts.docs) updateSection('large', outcome.markdown)
  process.exit(0)
}
