/**
 * The engine A/B of `--ab DIR` (bench:download and bench:seed): the engine of
 * another checkout (A, "before") against this tree's (B, "after"), their runs
 * alternating in one session so that the machine's load falls on both alike.
 */
import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { machineLine, stamp, table } from './report.ts'
import { cell, ratio, type Summary } from './stats.ts'
import { projectRoot } from './paths.ts'

/** Short commit of the checkout at `root` (or its path when git cannot tell). */
export const checkoutLabel = (root: string): string => {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  } catch {
    return root
  }
}

/** The two sides: A is the checkout at `dir`, B this tree. */
export const abSides = (dir: string): { readonly root: string; readonly name: string }[] => {
  const a = resolve(dir)
  return [
    { root: a, name: `before (${checkoutLabel(a)})` },
    { root: projectRoot, name: `after (${checkoutLabel(projectRoot)})` }
  ]
}

/** One side's figures for the A/B table. */
export interface AbRow {
  readonly name: string
  readonly mbps: Summary
  readonly cpuPerGiB: Summary
  readonly rssMiB: Summary | null
  readonly runs: string
}

/** The A/B table: median (min–max) of each side, and after / before of the medians. */
export const abMarkdown = (title: string, what: string, rows: readonly [AbRow, AbRow]): string => {
  const [a, b] = rows
  const cells = (r: AbRow): string[] => [r.name, cell(r.mbps), cell(r.cpuPerGiB), r.rssMiB ? cell(r.rssMiB, 0) : '–', r.runs]
  return [
    `### ${title}`,
    '',
    what,
    '',
    `Measured ${stamp()} on ${machineLine()}.`,
    '',
    table(
      ['engine', 'MB/s', 'CPU s per GiB', 'peak RSS MiB', 'runs'],
      [cells(a), cells(b), ['after / before (medians)', ratio(b.mbps.median, a.mbps.median), ratio(b.cpuPerGiB.median, a.cpuPerGiB.median), a.rssMiB && b.rssMiB ? ratio(b.rssMiB.median, a.rssMiB.median) : '–', '']]
    ),
    ''
  ].join('\n')
}
