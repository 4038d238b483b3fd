/**
 * Download benchmark: one aria2c seeder on loopback, a
 * 1 GiB single-file torrent (256 KiB pieces), and in the same run each
 * leecher N times, round-robin: this project's engine, WebTorrent 2.8.x and
 * aria2c. Reports MB/s, CPU s per GiB and peak RSS (median, min–max) and
 * rewrites the "download" section of docs/benchmarks.md.
 *
 *   npm run bench:download [-- --quick] [--runs N] [--no-engine] [--docs|--no-docs] [--ab DIR]
 *   npm run bench:download -- --transports [--quick] [--runs N]   (TCP and uTP rows: bench/download-transports.ts)
 *
 * `--ab DIR`: the engine alone, DIR's checkout against this one, alternating
 * (bench/lib/ab.ts).
 */
import { join } from 'node:path'
import { mkdirSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { aria2LeechArgs, aria2Version, startAria2Seeder } from './lib/aria2.ts'
import { cacheResidency, ensureDataset, torrentWithAnnounce, warmCache } from './lib/data.ts'
import { engineHas } from './lib/engine.ts'
import { cliChild, engineChild, engineRuntimeNote, libraryChild } from './lib/compiled.ts'
import { leechOnce, summarizeRuns, type ContenderResult, type LeechRun, type LeechSpec } from './lib/leech.ts'
import { freePort, waitFor } from './lib/net.ts'
import { GiB, MB, MiB, workDir } from './lib/paths.ts'
import { machineLine, parseBenchArgs, stamp, table, updateSection, type BenchOptions } from './lib/report.ts'
import { cell, fmt, ratio } from './lib/stats.ts'
import { qbittorrentLeech, qbittorrentVersion } from './lib/qbittorrent.ts'
import { startTracker } from './lib/tracker.ts'
import { abMarkdown, abSides } from './lib/ab.ts'
import { ensureWebtorrent, webtorrentLeech } from './lib/webtorrent.ts'

export interface DownloadOutcome {
  readonly size: number
  readonly results: readonly ContenderResult[]
  readonly markdown: string
}

const ENGINE = 'torrent-patron (this project)'
const LIBRARY = 'torrent-patron library (downloadAll, node defaults)'
const CLI = 'torrent-patron CLI (get)'

export const runDownloadBench = async (opts: BenchOptions, log: (s: string) => void = console.log): Promise<DownloadOutcome> => {
  const size = opts.quick ? 64 * MiB : GiB
  const timeoutMs = opts.timeoutS !== null ? opts.timeoutS * 1000 : opts.quick ? 20_000 : 300_000
  const ds = ensureDataset(size, log)
  warmCache(ds.file)
  const residency = cacheResidency(ds.file)
  const runDir = join(workDir, 'download')
  mkdirSync(runDir, { recursive: true })

  const tracker = await startTracker()
  const torrent = torrentWithAnnounce(ds.torrentFile, tracker.url, join(runDir, 'bench.torrent'))
  const seeder = await startAria2Seeder(torrent, ds.dir, await freePort())
  const peer = `127.0.0.1:${seeder.port}`
  try {
    // aria2c leechers find the seeder only through the tracker.
    await waitFor('the aria2c seeder to announce', () => tracker.peerCount(ds.infoHash) > 0, 20_000)

    const contenders: { spec: LeechSpec; skipped: string | null; run?: () => Promise<LeechRun> }[] = []
    if (opts.ab !== undefined) {
      for (const side of abSides(opts.ab))
        contenders.push({
          spec: {
            name: side.name,
            verify: 'full',
            command: (out) => [
              process.execPath,
              [...engineChild('leech-engine', undefined, side.root), '--torrent', torrent, '--out', out, '--peer', peer, '--timeout-ms', String(timeoutMs)]
            ]
          },
          skipped: null
        })
      const results = await roundRobin(contenders, opts.runs, size, ds.file, timeoutMs, log)
      const rows = results.map((r) => ({ name: r.name, mbps: r.mbps, cpuPerGiB: r.cpuPerGiB, rssMiB: r.rssMiB, runs: runsCell(r) }))
      const markdown = abMarkdown(
        `Download A/B (${label(size)})`,
        `The engine leeching ${label(size)} (one file, 256 KiB pieces) from one ${(await aria2Version()).replace(/^aria2 version /, 'aria2c ')} seeder on 127.0.0.1, ` +
          `the two checkouts' children alternating, ${opts.runs} runs each. MB/s counts the child process (start to exit); CPU is the child's. ` +
          engineRuntimeNote(),
        [rows[0]!, rows[1]!]
      )
      return { size, results, markdown }
    }
    const engineReady = engineHas('client', 'hasher', 'storage')
    contenders.push({
      spec: {
        name: ENGINE,
        verify: 'full',
        command: (out) => [
          process.execPath,
          [...engineChild('leech-engine'), '--torrent', torrent, '--out', out, '--peer', peer, '--timeout-ms', String(timeoutMs)]
        ]
      },
      skipped: opts.noEngine ? 'skipped (--no-engine)' : engineReady ? null : 'not available yet (lib/engine/client/client.ts, hasher.ts or file-storage.ts missing)'
    })
    // As users run it: the public entry point under Node's defaults, and the command line tool.
    // Full runs only (the CLI needs dist/ built), unless --users; --no-users leaves them out.
    const users = process.argv.includes('--no-users') ? false : process.argv.includes('--users') || !opts.quick
    if (users && engineReady && !opts.noEngine) {
      contenders.push({
        spec: {
          name: LIBRARY,
          verify: 'full',
          command: (out) => [process.execPath, [...libraryChild(), '--torrent', torrent, '--out', out, '--peer', peer, '--timeout-ms', String(timeoutMs)]]
        },
        skipped: null
      })
      contenders.push({
        spec: {
          name: CLI,
          verify: 'full',
          command: (out) => [process.execPath, [...cliChild(), 'get', torrent, '--out', out, '--peer', peer, '--no-dht', '--no-port-mapping', '--timeout', String(Math.ceil(timeoutMs / 1000))]]
        },
        skipped: null
      })
    }
    let wtVersion = '2.8.x'
    let wtSkip: string | null = null
    try {
      wtVersion = ensureWebtorrent(log)
    } catch (e) {
      wtSkip = `could not install: ${e instanceof Error ? e.message : String(e)}`
    }
    contenders.push({
      spec: {
        name: `webtorrent ${wtVersion}`,
        verify: 'sample',
        command: (out) => [process.execPath, [webtorrentLeech, '--torrent', torrent, '--out', out, '--peer', peer, '--timeout-ms', String(timeoutMs)]]
      },
      skipped: wtSkip
    })
    const a2 = (await aria2Version()).replace(/^aria2 version /, 'aria2c ')
    const a2Port = await freePort()
    contenders.push({
      spec: { name: a2, verify: 'sample', command: (out) => ['aria2c', aria2LeechArgs(torrent, out, a2Port)] },
      skipped: null
    })

    const qbt = qbittorrentVersion()
    if (qbt !== null && (opts.qbittorrent ?? !opts.quick)) {
      contenders.push({
        spec: { name: qbt.replace(/^qBittorrent v/, 'qBittorrent '), verify: 'sample', command: () => ['qbittorrent-nox', []] },
        skipped: null,
        run: () => qbittorrentLeech(torrent, ds.file, timeoutMs, [peer])
      })
    }

    const results = await roundRobin(contenders, opts.runs, size, ds.file, timeoutMs, log)
    const markdown = downloadMarkdown(results, { size, runs: opts.runs, residency, aria2: a2 })
    return { size, results, markdown }
  } finally {
    await seeder.stop()
    await tracker.close()
  }
}

const runsCell = (r: ContenderResult): string => (r.failures.length ? `${r.failures.length} failed: ${r.failures[0]}` : `${r.runs.length}/${r.runs.length} ok`)

/** Each contender `n` times, round-robin (a contender that failed twice is left out). */
const roundRobin = async (
  contenders: readonly { spec: LeechSpec; skipped: string | null; run?: () => Promise<LeechRun> }[],
  n: number,
  size: number,
  original: string,
  timeoutMs: number,
  log: (s: string) => void
): Promise<ContenderResult[]> => {
  const runs = new Map<string, LeechRun[]>(contenders.map((c) => [c.spec.name, []]))
  for (let i = 1; i <= n; i++) {
    for (const c of contenders) {
      if (c.skipped) continue
      const mine = runs.get(c.spec.name)!
      // A leecher that failed twice will fail again: do not burn timeouts on it.
      if (mine.filter((r) => r.error !== null).length >= 2) continue
      const r = c.run ? await c.run() : await leechOnce(c.spec, original, timeoutMs)
      mine.push(r)
      log(
        `[download] run ${i}/${n} ${c.spec.name}: ` +
          (r.error
            ? `FAILED ${r.error}`
            : `${fmt(size / MB / r.wallS)} MB/s, ${fmt(r.cpuS / (size / GiB))} CPU s/GiB, ${fmt(r.peakRssBytes / MiB)} MiB RSS`)
      )
    }
  }
  return contenders.map((c) => summarizeRuns(c.spec.name, runs.get(c.spec.name)!, size, c.skipped))
}

/** The peak RSS target (at most 80 MiB, largest of the runs) for the library and the CLI rows, when they ran. */
const userRss = (lib: ContenderResult | undefined, cli: ContenderResult | undefined): string => {
  const ran = [lib, cli].filter((r): r is ContenderResult => r !== undefined && !r.skipped && r.runs.some((x) => x.error === null))
  if (ran.length === 0) return ''
  const largest = ran.map((r) => `${r === lib ? 'library' : 'CLI'} ${fmt(r.rssMiB.max, 0)}`).join(', ')
  return `; peak RSS at most 80 MiB for the library and the CLI (largest: ${largest}): ${ran.every((r) => r.rssMiB.max <= 80) ? 'met' : 'not met'}`
}

const label = (size: number): string => (size >= GiB ? `${size / GiB} GiB` : `${size / MiB} MiB`)

const downloadMarkdown = (
  results: readonly ContenderResult[],
  ctx: { size: number; runs: number; residency: number; aria2: string }
): string => {
  const engine = results.find((r) => r.name === ENGINE)
  const wt = results.find((r) => r.name.startsWith('webtorrent'))
  const a2 = results.find((r) => r.name.startsWith('aria2c'))
  const rows = results.map((r) =>
    r.skipped
      ? [r.name, r.skipped, '', '', '', '', '']
      : [
          r.name,
          cell(r.mbps),
          cell(r.transferMbps),
          cell(r.cpuPerGiB),
          cell(r.rssMiB, 0),
          wt ? ratio(r.mbps.median, wt.mbps.median) : '–',
          runsCell(r)
        ]
  )
  const lines = [
    '## Download',
    '',
    `${label(ctx.size)} single file, 256 KiB pieces, one ${ctx.aria2} seeder on 127.0.0.1 (data in page cache: ` +
      `${Number.isFinite(ctx.residency) ? `${Math.round(ctx.residency * 100)}% resident` : 'pre-read'}); ` +
      `each leecher ${ctx.runs} times, round-robin, into a fresh empty folder deleted after each run. ` +
      'The engine gets the seeder as an explicit peer, WebTorrent gets it as an explicit peer and through the tracker, ' +
      'aria2c and qBittorrent through an embedded bittorrent-tracker. MB/s counts the whole process (start to exit; ' +
      'qBittorrent: spawn to 100% in its Web API, a fresh instance per run); "transfer MB/s" is the time from adding ' +
      'the torrent to done (node leechers report it; qBittorrent from the Web API). qBittorrent\'s CPU and RSS are read ' +
      'from /proc at completion; libtorrent 2 maps the file, so its RSS counts file pages. ' + engineRuntimeNote() +
      (results.some((r) => r.name === LIBRARY || r.name === CLI)
        ? ' The library row is bench/leech-library.ts as an application would write it (the public entry point, a `torrentService` and ' +
          '`downloadAll`), compiled the same way but under Node\'s default options; the CLI row is `torrent-patron get --no-dht ' +
          '--no-port-mapping` over `dist/` (`npm run build`); both get the seeder as an explicit peer.'
        : ''),
    '',
    `Measured ${stamp()} on ${machineLine()}.`,
    '',
    table(['leecher', 'MB/s', 'transfer MB/s', 'CPU s per GiB', 'peak RSS MiB', 'vs WebTorrent', 'runs'], rows),
    ''
  ]
  if (engine && !engine.skipped && wt && a2) {
    const checks = [
      `- Bar: MB/s at least WebTorrent's (${ratio(engine.mbps.median, wt.mbps.median)}) and peak RSS under 150 MiB ` +
        `(largest of the runs: ${fmt(engine.rssMiB.max, 0)} MiB): ${engine.mbps.median >= wt.mbps.median && engine.rssMiB.max < 150 ? 'met' : 'not met'}.`,
      `- Targets: at least 2.0x WebTorrent's MB/s (${ratio(engine.mbps.median, wt.mbps.median)}): ${engine.mbps.median >= 2 * wt.mbps.median ? 'met' : 'not met'}; ` +
        `at most aria2c's CPU s per GiB (${fmt(engine.cpuPerGiB.median)} against ${fmt(a2.cpuPerGiB.median)}): ${engine.cpuPerGiB.median <= a2.cpuPerGiB.median ? 'met' : 'not met'}` +
        userRss(results.find((r) => r.name === LIBRARY), results.find((r) => r.name === CLI)) + '.'
    ]
    lines.push(...checks, '')
  }
  lines.push(`Reproduce: \`npm run bench:download${ctx.size < GiB ? ' -- --quick' : ''}\``)
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv.includes('--transports')) {
  // The rows over each transport (bench/download-transports.ts), a section of their own.
  const opts = parseBenchArgs(process.argv.slice(2))
  const { runTransportBench } = await import('./download-transports.ts')
  const outcome = await runTransportBench(opts)
  console.log('\n' + outcome.markdown)
  if (opts.docs) updateSection('download-transports', outcome.markdown)
  process.exit(0)
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const opts = parseBenchArgs(process.argv.slice(2))
  const outcome = await runDownloadBench(opts)
  console.log('\n' + outcome.markdown)
  if (opts.docs) updateSection('download', outcome.markdown)
  process.exit(0)
}
