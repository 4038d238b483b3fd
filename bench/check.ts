/**
 * Checking benchmark: verify 1 GiB of existing data
 * (warm page cache) with this project's checker (`checkExisting`, in the
 * child bench/check-engine.ts), with `aria2c --check-integrity=true
 * --hash-check-only=true` on the same data, and the raw SHA-1 throughput of
 * node:crypto on one thread (hashing 256 KiB pieces from memory).
 *
 *   npm run bench:check [-- --quick] [--runs N] [--no-engine] [--docs|--no-docs]
 */
import { createHash, randomFillSync } from 'node:crypto'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { aria2CheckArgs, aria2Version } from './lib/aria2.ts'
import { cacheResidency, ensureDataset, warmCache } from './lib/data.ts'
import { engineHas } from './lib/engine.ts'
import { engineChild, engineRuntimeNote } from './lib/compiled.ts'
import { lastJsonLine, runMeasured } from './lib/measure.ts'
import { GiB, MB, MiB } from './lib/paths.ts'
import { machineLine, parseBenchArgs, stamp, table, updateSection, type BenchOptions } from './lib/report.ts'
import { cell, fmt, ratio, summarize, type Summary } from './lib/stats.ts'

export interface CheckResult {
  readonly name: string
  readonly skipped: string | null
  /** MB/s over the checking itself. */
  readonly mbps: Summary
  /** MB/s over the whole process, start to exit (null for in-process rows). */
  readonly processMbps: Summary | null
  readonly cpuPerGiB: Summary | null
  readonly rssMiB: Summary | null
  readonly failures: readonly string[]
  readonly runs: number
}

interface OneCheck {
  checkS: number
  wallS: number
  cpuS: number
  rssBytes: number
  error: string | null
}

/** SHA-1 of `total` bytes in `pieceLength` pieces from a 64 MiB buffer, one thread; seconds. */
export const rawSha1Seconds = (total: number, pieceLength = 256 * 1024): number => {
  const buf = randomFillSync(Buffer.allocUnsafe(64 * MiB))
  const t0 = performance.now()
  for (let done = 0; done < total; ) {
    for (let o = 0; o < buf.length && done < total; o += pieceLength, done += pieceLength) {
      createHash('sha1').update(buf.subarray(o, o + pieceLength)).digest()
    }
  }
  return (performance.now() - t0) / 1000
}

const ENGINE = 'torrent-patron checkExisting (this project)'

export const runCheckBench = async (opts: BenchOptions, log: (s: string) => void = console.log): Promise<{ markdown: string; results: CheckResult[] }> => {
  const size = opts.quick ? 64 * MiB : GiB
  const ds = ensureDataset(size, log)
  warmCache(ds.file)
  const residency = cacheResidency(ds.file)
  const a2name = (await aria2Version()).replace(/^aria2 version /, 'aria2c ')
  const engineSkip = opts.noEngine
    ? 'skipped (--no-engine)'
    : engineHas('checker', 'storage', 'hasher', 'metainfo')
      ? null
      : 'not available yet (lib/engine/disk/checker.ts, file-storage.ts or hasher.ts missing)'

  const engineRuns: OneCheck[] = []
  const aria2Runs: OneCheck[] = []
  const shaRuns: number[] = []
  for (let i = 1; i <= opts.runs; i++) {
    if (!engineSkip) {
      const m = await runMeasured(process.execPath, [...engineChild('check-engine'), '--torrent', ds.torrentFile, '--data', ds.dir], {
        timeoutMs: 300_000
      })
      const json = lastJsonLine(m.stdout)
      const checkMs = typeof json?.checkMs === 'number' ? json.checkMs : NaN
      let error: string | null = null
      if (m.exitCode !== 0) error = `exit ${m.exitCode ?? m.signal}: ${m.stderr.trim().split('\n').slice(-3).join(' / ')}`
      else if (json?.validPieces !== null && json?.validPieces !== undefined && json.validPieces !== json.pieces)
        error = `${String(json.validPieces)} of ${String(json.pieces)} pieces valid`
      engineRuns.push({ checkS: checkMs / 1000, wallS: m.wallS, cpuS: m.cpuS, rssBytes: m.peakRssBytes, error })
      log(`[check] run ${i}/${opts.runs} engine: ${error ?? `${fmt(size / MB / (checkMs / 1000))} MB/s (process ${fmt(size / MB / m.wallS)})`}`)
    }
    const a = await runMeasured('aria2c', aria2CheckArgs(ds.torrentFile, ds.dir), { timeoutMs: 300_000 })
    const aErr = a.exitCode === 0 ? null : `exit ${a.exitCode ?? a.signal}: ${a.stdout.trim().split('\n').slice(-2).join(' / ')}`
    aria2Runs.push({ checkS: a.wallS, wallS: a.wallS, cpuS: a.cpuS, rssBytes: a.peakRssBytes, error: aErr })
    log(`[check] run ${i}/${opts.runs} ${a2name}: ${aErr ?? `${fmt(size / MB / a.wallS)} MB/s`}`)
    const s = rawSha1Seconds(size)
    shaRuns.push(s)
    log(`[check] run ${i}/${opts.runs} node:crypto SHA-1: ${fmt(size / MB / s)} MB/s`)
  }

  const summarizeChecks = (name: string, rs: OneCheck[], skipped: string | null): CheckResult => {
    const good = rs.filter((r) => r.error === null)
    return {
      name,
      skipped,
      mbps: summarize(good.map((r) => size / MB / r.checkS)),
      processMbps: summarize(good.map((r) => size / MB / r.wallS)),
      cpuPerGiB: summarize(good.map((r) => r.cpuS / (size / GiB))),
      rssMiB: summarize(good.map((r) => r.rssBytes / MiB)),
      failures: rs.filter((r) => r.error !== null).map((r) => r.error!),
      runs: rs.length
    }
  }
  const results: CheckResult[] = [
    summarizeChecks(ENGINE, engineRuns, engineSkip),
    summarizeChecks(`${a2name} --check-integrity --hash-check-only`, aria2Runs, null),
    {
      name: 'node:crypto SHA-1, one thread, from memory',
      skipped: null,
      mbps: summarize(shaRuns.map((s) => size / MB / s)),
      processMbps: null,
      cpuPerGiB: null,
      rssMiB: null,
      failures: [],
      runs: shaRuns.length
    }
  ]
  return { results, markdown: checkMarkdown(results, { size, runs: opts.runs, residency }) }
}

const checkMarkdown = (results: readonly CheckResult[], ctx: { size: number; runs: number; residency: number }): string => {
  const engine = results[0]!
  const a2 = results[1]!
  const rows = results.map((r) =>
    r.skipped
      ? [r.name, r.skipped, '', '', '', '', '']
      : [
          r.name,
          cell(r.mbps),
          r.processMbps ? cell(r.processMbps) : '–',
          r.cpuPerGiB ? cell(r.cpuPerGiB) : '–',
          r.rssMiB ? cell(r.rssMiB, 0) : '–',
          ratio(r.mbps.median, a2.mbps.median),
          r.failures.length ? `${r.failures.length} failed: ${r.failures[0]}` : `${r.runs}/${r.runs} ok`
        ]
  )
  const size = ctx.size >= GiB ? `${ctx.size / GiB} GiB` : `${ctx.size / MiB} MiB`
  const lines = [
    '## Checking existing data',
    '',
    `${size} in one file, 256 KiB pieces, page cache warm (${Number.isFinite(ctx.residency) ? `${Math.round(ctx.residency * 100)}% resident` : 'pre-read'}), ` +
      `${ctx.runs} runs each. The engine's MB/s is over \`checkExisting\` itself (its process also pays Node start-up, ` +
      'see "process MB/s"); aria2c\'s is over its whole process. ' + engineRuntimeNote(),
    '',
    `Measured ${stamp()} on ${machineLine()}.`,
    '',
    table(['checker', 'MB/s', 'process MB/s', 'CPU s per GiB', 'peak RSS MiB', 'vs aria2c', 'runs'], rows),
    ''
  ]
  if (!engine.skipped) {
    lines.push(
      `- Target: faster than aria2c (${ratio(engine.mbps.median, a2.mbps.median)}): ${engine.mbps.median > a2.mbps.median ? 'met' : 'not met'}. ` +
        `Target 1.3x: ${engine.mbps.median >= 1.3 * a2.mbps.median ? 'met' : 'not met'}.`,
      ''
    )
  }
  lines.push(`Reproduce: \`npm run bench:check${ctx.size < GiB ? ' -- --quick' : ''}\``)
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const opts = parseBenchArgs(process.argv.slice(2))
  const outcome = await runCheckBench(opts)
  console.log('\n' + outcome.markdown)
  if (opts.docs) updateSection('check', outcome.markdown)
  process.exit(0)
}
