/**
 * Every benchmark in one go: download, seed, check, routing, swarm
 * (many peers), torrents (many torrents) and large (memory with torrent
 * size). Installs the Debian peers if missing (scripts/install-peers.sh) and
 * WebTorrent in bench/webtorrent/, then rewrites each section of
 * docs/benchmarks.md. Prints `[bench] result NAME: ...` after each benchmark.
 *
 *   npm run bench                 # 1 GiB (4 GiB for large), 3 runs each, writes docs/benchmarks.md
 *   npm run bench -- --quick      # small variants, under two minutes, docs untouched unless --docs
 *   options: --runs N, --no-engine, --docs / --no-docs,
 *            --only download,seed,check,routing,swarm,torrents,large
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { runCheckBench } from './check.ts'
import { runDownloadBench } from './download.ts'
import { benchDir, projectRoot } from './lib/paths.ts'
import { parseBenchArgs, updateSection, type BenchOptions } from './lib/report.ts'
import { fmt } from './lib/stats.ts'
import { runSeedBench } from './seed.ts'
import { runSwarmBench } from './swarm.ts'
import { runLargeBench } from './large.ts'
import { runTorrentsBench } from './torrents.ts'

/** Install aria2c / mktorrent (and the other peers) from Debian when missing. */
const ensurePeers = (): void => {
  const missing = ['aria2c', 'mktorrent', 'fincore'].filter((bin) => {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' })
      return false
    } catch {
      return true
    }
  })
  if (missing.length) execFileSync('bash', [join(projectRoot, 'scripts', 'install-peers.sh')], { stdio: 'inherit' })
}

/** What a step returns: its docs section, and one line for the log (`[bench] result NAME: ...`). */
interface StepOutcome {
  readonly markdown: string
  readonly summary: string
}

/** "name median MB/s; ..." from a bench's per-contender results. */
const mbpsSummary = (results: readonly { name: string; skipped: string | null; mbps?: { median: number }; leecherMbps?: { median: number } }[]): string =>
  results
    .map((r) => `${r.name} ${r.skipped ? 'skipped' : `${fmt((r.mbps ?? r.leecherMbps)?.median ?? NaN)} MB/s`}`)
    .join('; ')

type RoutingOutcome = string | { markdown: string; summary?: string }
type RoutingModule = { runRoutingBench?: (opts: BenchOptions) => Promise<RoutingOutcome> | RoutingOutcome }

const runRouting = async (opts: BenchOptions): Promise<StepOutcome | null> => {
  const file = join(benchDir, 'routing.ts')
  if (!existsSync(file)) return null
  const mod = (await import(pathToFileURL(file).href)) as RoutingModule
  if (typeof mod.runRoutingBench !== 'function') return null
  const out = await mod.runRoutingBench(opts)
  return typeof out === 'string' ? { markdown: out, summary: 'ok' } : { markdown: out.markdown, summary: out.summary ?? 'ok' }
}

const argv = process.argv.slice(2)
const opts = parseBenchArgs(argv)
const onlyAt = argv.indexOf('--only')
const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? '').split(',')) : null
const wanted = (name: string): boolean => only === null || only.has(name)

const t0 = performance.now()
ensurePeers()
const failures: string[] = []
const step = async (name: string, run: () => Promise<StepOutcome | null>): Promise<void> => {
  if (!wanted(name)) return
  console.log(`\n=== ${name} ===`)
  try {
    const outcome = await run()
    if (outcome === null) console.log(`(${name}: nothing to run)`)
    else {
      console.log('\n' + outcome.markdown)
      if (opts.docs) updateSection(name, outcome.markdown)
      // One greppable line per benchmark (spec/bench/quick.spec.ts looks for it).
      console.log(`[bench] result ${name}: ${outcome.summary}`)
    }
  } catch (e) {
    failures.push(name)
    console.error(`[bench] ${name} failed:`, e)
  }
}
const withSummary = (o: { markdown: string; results: Parameters<typeof mbpsSummary>[0] }): StepOutcome => ({
  markdown: o.markdown,
  summary: mbpsSummary(o.results)
})
await step('download', async () => withSummary(await runDownloadBench(opts)))
await step('seed', async () => withSummary(await runSeedBench(opts)))
await step('check', async () => withSummary(await runCheckBench(opts)))
await step('routing', () => runRouting(opts))
await step('swarm', () => runSwarmBench(opts))
await step('torrents', () => runTorrentsBench(opts))
await step('large', () => runLargeBench(opts))
console.log(`\n[bench] done in ${((performance.now() - t0) / 1000).toFixed(0)} s${opts.docs ? '; docs/benchmarks.md updated' : ''}`)
if (failures.length) console.error(`[bench] failed: ${failures.join(', ')}`)
// Leave now: a benchmark's leftover handle (keep-alive socket, timer) must not hold the run open.
process.exit(failures.length ? 1 : 0)
