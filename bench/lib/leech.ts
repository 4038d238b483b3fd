/**
 * One measured download by a leecher child process into a fresh, empty
 * folder that is verified against the original and deleted afterwards.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { lastJsonLine, runMeasured } from './measure.ts'
import { verifyOutput } from './data.ts'
import { workDir } from './paths.ts'

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
