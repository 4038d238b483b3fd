/**
 * docs/benchmarks.md: one section per benchmark between HTML comment markers,
 * so each bench rewrites only its own section; plus the machine description
 * and table rendering every section shares.
 */
import { cpus, loadavg, totalmem, release } from 'node:os'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { docsFile, GiB } from './paths.ts'

/** Section names, in the order they appear in the document. */
export const SECTIONS = ['download', 'download-transports', 'profile', 'seed', 'check', 'routing', 'swarm', 'torrents', 'large', 'cli'] as const
export type SectionName = (typeof SECTIONS)[number] | string

const start = (name: string): string => `<!-- bench:${name}:start -->`
const end = (name: string): string => `<!-- bench:${name}:end -->`

const HEADER = `# Benchmarks

Measured by \`bench/\` on one machine, over loopback, with real peers (aria2c, WebTorrent 2.8.x) in the same
run as this project's engine. Each section is rewritten by its own benchmark; the figures are medians of
several runs with the min–max range in parentheses. MB/s is decimal (10^6 bytes per second); CPU s per GiB
is user + system time of the measured process (and its children) divided by the GiB moved; peak RSS is the
kernel's maximum resident set (\`/usr/bin/time\`'s %M, or VmHWM from /proc for a long-running seeder).

Reproduce everything: \`npm run bench\` (ten to twenty minutes on 2 cores; add \`-- --quick\` for a small check
of the harness in under two minutes that leaves this file alone unless \`--docs\` is given). Each benchmark
alone: \`npm run bench:download\`, \`bench:seed\`, \`bench:check\`, \`bench:routing\`, \`bench:swarm\`,
\`bench:torrents\`, \`bench:large\` (options: \`--quick\`,
\`--runs N\`, \`--no-docs\`, \`--docs\`). Data and scratch files live in \`bench/.work/\` (gitignored);
WebTorrent is installed on first use into \`bench/webtorrent/\` with \`npm install --ignore-scripts\`, apart
from the project's dependencies.
`

/**
 * Replace (or append) one section of docs/benchmarks.md, leaving the others.
 * @example
 * ```ts
 * updateSection('download', '## Download\n\n| ... |')
 * ```
 */
export const updateSection = (name: SectionName, markdown: string, file = docsFile): void => {
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : HEADER
  const block = `${start(name)}\n${markdown.trim()}\n${end(name)}`
  const a = doc.indexOf(start(name))
  const b = doc.indexOf(end(name))
  if (a >= 0 && b > a) doc = doc.slice(0, a) + block + doc.slice(b + end(name).length)
  else {
    // Keep the known sections in their canonical order when adding one.
    const order = SECTIONS as readonly string[]
    const later = order.slice(order.indexOf(name) + 1).find((n) => order.includes(name) && doc.includes(start(n)))
    if (later) {
      const at = doc.indexOf(start(later))
      doc = doc.slice(0, at) + block + '\n\n' + doc.slice(at)
    } else doc = doc.trimEnd() + '\n\n' + block + '\n'
  }
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, doc)
}

/**
 * One line describing this machine and runtime, with the load average at the
 * end of the bench (other work on the machine skews every figure).
 */
export const machineLine = (): string => {
  const cpu = cpus()
  const load = loadavg()[0]!.toFixed(2)
  return `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / GiB).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}; 1-min load average ${load}`
}

/** Today's date and time in UTC, to the minute. */
export const stamp = (): string => new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC'

/** A Markdown table. */
export const table = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')

/** Parsed common command-line options of every bench. */
export interface BenchOptions {
  readonly quick: boolean
  readonly runs: number
  /** Rewrite this bench's section of docs/benchmarks.md. */
  readonly docs: boolean
  /** Skip the engine even if it is there (peers-only figures). */
  readonly noEngine: boolean
  /** Per-run timeout override in seconds (`--timeout-s N`). */
  readonly timeoutS: number | null
  /** Include qBittorrent as a leecher: `--qbittorrent` / `--no-qbittorrent`; default: full-size runs only. */
  readonly qbittorrent?: boolean
  /**
   * `--ab DIR`: an A/B of the engine alone, DIR's engine (another checkout,
   * `npm ci` done) against this tree's, their runs alternating in one session.
   */
  readonly ab?: string
}

/**
 * `--quick` (64 MiB), `--runs N` (default 3), `--docs` / `--no-docs`
 * (default: write docs for full-size runs only), `--no-engine`, `--timeout-s N`
 * (per run; default 20 quick, 300 full), `--ab DIR` (engine A/B against the
 * checkout in DIR; never writes docs).
 */
export const parseBenchArgs = (argv: readonly string[]): BenchOptions => {
  const quick = argv.includes('--quick')
  const runsAt = argv.indexOf('--runs')
  const runs = runsAt >= 0 ? Math.max(1, Number(argv[runsAt + 1]) || 3) : 3
  const docs = argv.includes('--no-docs') ? false : argv.includes('--docs') ? true : !quick
  const tAt = argv.indexOf('--timeout-s')
  const timeoutS = tAt >= 0 ? Number(argv[tAt + 1]) || null : null
  const qbittorrent = argv.includes('--no-qbittorrent') ? false : argv.includes('--qbittorrent') ? true : undefined
  const abAt = argv.indexOf('--ab')
  const ab = abAt >= 0 ? argv[abAt + 1] : undefined
  return {
    quick,
    runs,
    docs: docs && ab === undefined,
    noEngine: argv.includes('--no-engine'),
    timeoutS,
    ...(qbittorrent === undefined ? {} : { qbittorrent }),
    ...(ab === undefined ? {} : { ab })
  }
}
