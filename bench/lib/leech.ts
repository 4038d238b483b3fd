/**
 * One measured download by a leecher child process into a fresh, empty
 * folder that is verified against the original and deleted afterwards.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { lastJsonLine, runMeasured } from './measure.ts'
import { verifyOutput } from './data.ts'
import { GiB, MB, MiB, workDir } from './paths.ts'
import { summarize, type Summary } from './stats.ts'

export interface LeechRun {
  readonly wallS: number
  /** The leecher's own add-to-done time, when it reports one (node leechers do). */
  readonly transferS: number | null
  readonly cpuS: number
  readonly peakRssBytes: number
  /** Null when the download completed and verified. */
  readonly error: string | null
  /** The leecher's last JSON line on stdout (node leechers print one), or null. */
  readonly report?: Record<string, unknown> | null
}

export interface LeechSpec {
  readonly name: string
  /** Command line, given the fresh output folder. */
  readonly command: (out: string) => readonly [string, readonly string[]]
  readonly verify: 'full' | 'sample'
}

/**
 * Run one leecher once, verify and clean up.
 * @example
 * ```ts
 * const run = await leechOnce({ name: 'aria2c', command: (out) => ['aria2c', aria2LeechArgs(t, out, port)], verify: 'sample' }, ds.file, 60_000)
 * ```
 */
export const leechOnce = async (spec: LeechSpec, original: string, timeoutMs: number): Promise<LeechRun> => {
  mkdirSync(workDir, { recursive: true })
  const out = mkdtempSync(join(workDir, `out-${spec.name.replace(/\W+/g, '_')}-`))
  try {
    const [cmd, args] = spec.command(out)
    const m = await runMeasured(cmd, args, { timeoutMs })
    const json = lastJsonLine(m.stdout)
    const transferMs = json && typeof json.transferMs === 'number' ? json.transferMs : null
    let error: string | null = null
    if (m.exitCode !== 0) error = `exit ${m.exitCode ?? m.signal}: ${m.stderr.trim().split('\n').slice(-3).join(' / ')}`
    else error = verifyOutput(join(out, basename(original)), original, spec.verify)
    return { wallS: m.wallS, transferS: transferMs === null ? null : transferMs / 1000, cpuS: m.cpuS, peakRssBytes: m.peakRssBytes, error, report: json }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

/** One leecher's runs of a benchmark, summarised. */
export interface ContenderResult {
  readonly name: string
  /** Why it did not run, or null. */
  readonly skipped: string | null
  readonly runs: readonly LeechRun[]
  readonly mbps: Summary
  /** MB/s over the leecher's own add-to-done time (node leechers only). */
  readonly transferMbps: Summary
  readonly cpuPerGiB: Summary
  readonly rssMiB: Summary
  readonly failures: readonly string[]
}

/** Summaries of one contender's runs (failed runs count only as failures). */
export const summarizeRuns = (name: string, runs: readonly LeechRun[], bytes: number, skipped: string | null = null): ContenderResult => {
  const good = runs.filter((r) => r.error === null)
  return {
    name,
    skipped,
    runs,
    mbps: summarize(good.map((r) => bytes / MB / r.wallS)),
    transferMbps: summarize(good.filter((r) => r.transferS !== null).map((r) => bytes / MB / r.transferS!)),
    cpuPerGiB: summarize(good.map((r) => r.cpuS / (bytes / GiB))),
    rssMiB: summarize(good.map((r) => r.peakRssBytes / MiB)),
    failures: runs.filter((r) => r.error !== null).map((r) => r.error!)
  }
}
