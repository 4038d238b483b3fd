/**
 * Load of one service over the real engine: N patrons on M small
 * torrents seeded by one engine instance on 127.0.0.1 (the scenario of
 * spec/engine/load.spec.ts, in spec/support/load-scenario.ts). Prints time, peak RSS
 * and peak heap; each run is a child process, so peak RSS is that run's own.
 *
 *   node --import tsx bench/load.ts [--patrons 1000] [--torrents 200] [--min-kib 64] [--max-kib 256]
 *                                   [--runs 3] [--scale] [--docs]
 *
 * --scale also runs 4x and 10x the patrons and torrents (same sizes);
 * --docs rewrites the Load section of docs/benchmarks.md (between
 * `<!-- load:start -->` and `<!-- load:end -->`, appended if missing).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { cpus, release, totalmem } from 'node:os'
import { runLoad, type LoadResult } from '../spec/support/load-scenario.ts'

const here = fileURLToPath(import.meta.url)
const docsFile = join(here, '..', '..', 'docs', 'benchmarks.md')
const START = '<!-- load:start -->'
const END = '<!-- load:end -->'

interface Args { patrons: number; torrents: number; minKiB: number; maxKiB: number; runs: number; scale: boolean; docs: boolean; child: boolean }

const parseArgs = (argv: readonly string[]): Args => {
  const a: Args = { patrons: 1000, torrents: 200, minKiB: 64, maxKiB: 256, runs: 3, scale: false, docs: false, child: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!
    const num = (): number => {
      const n = Number(argv[++i])
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${k} needs a positive number`)
      return n
    }
    if (k === '--patrons') a.patrons = num()
    else if (k === '--torrents') a.torrents = num()
    else if (k === '--min-kib') a.minKiB = num()
    else if (k === '--max-kib') a.maxKiB = num()
    else if (k === '--runs') a.runs = num()
    else if (k === '--scale') a.scale = true
    else if (k === '--docs') a.docs = true
    else if (k === '--child') a.child = true
    else throw new Error(`unknown option ${k}`)
  }
  return a
}

/** One run in this process; prints its result as JSON on the last line. */
const child = async (a: Args): Promise<void> => {
  const r = await runLoad({
    patrons: a.patrons,
    torrents: a.torrents,
    minSize: a.minKiB * 1024,
    maxSize: a.maxKiB * 1024,
    timeoutMs: 300_000,
    log: (l) => process.stderr.write(`${l}\n`)
  })
  process.stdout.write(`${JSON.stringify(r)}\n`)
}

/** One run in a fresh process (its own peak RSS). */
const runChild = (a: Args, patrons: number, torrents: number): LoadResult => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', here, '--child', '--patrons', String(patrons), '--torrents', String(torrents),
    '--min-kib', String(a.minKiB), '--max-kib', String(a.maxKiB)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 })
  return JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((x, y) => x - y)
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const fmt = (xs: readonly number[], digits = 0): string => {
  const m = median(xs).toFixed(digits)
  return xs.length > 1 ? `${m} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})` : m
}

interface Row { patrons: number; torrents: number; results: LoadResult[] }

/** The Load section's Markdown. */
export const loadSection = (a: Args, rows: readonly Row[]): string => {
  const cpu = cpus()
  const lines = [
    '## Load: many patrons on one service',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`node --import tsx bench/load.ts${a.scale ? ' --scale' : ''} --docs\` on ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}, Node ${process.version}. Median of ${a.runs} runs (min–max), each in its own process.`,
    '',
    `One \`torrentService\` over one real engine; patron i creates torrent i mod M (so each torrent has one`,
    'NewTorrentCreated owner and the rest are TorrentAlreadyDownloading co-owners); torrents of ' + `${a.minKiB}–${a.maxKiB} KiB`,
    '(16 KiB pieces, no tracker) are seeded by a second engine instance in the same process over 127.0.0.1;',
    'status interval 500 ms. "replies" and "complete" count from the first creation to the last patron answered /',
    'seeing its torrent "seeding"; "released" from the last patron leaving to every fd, socket, worker and handle',
    'being back at the baseline. Peak RSS covers the whole process (seeder and leecher engines, test data',
    'generation); peak heap is V8 heap used, sampled every 50 ms. Every run also checks that each patron saw',
    'exactly its own reply and updates (spec/engine/load.spec.ts runs the 1,000 / 200 case in CI).',
    '',
    '| patrons | torrents | data MiB | seeder setup ms | replies ms | complete ms | released ms | peak RSS MiB | peak heap MiB | updates routed | violations |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
  ]
  for (const r of rows) {
    const rs = r.results
    const pick = (f: (x: LoadResult) => number, d = 0): string => fmt(rs.map(f), d)
    lines.push(`| ${r.patrons.toLocaleString('en')} | ${r.torrents} | ${(rs[0]!.totalBytes / 2 ** 20).toFixed(1)} | ${pick((x) => x.setupMs)} | ${pick((x) => x.repliesMs)} | ` +
      `${pick((x) => x.completeMs)} | ${pick((x) => x.releaseMs)} | ${pick((x) => x.peakRssMiB)} | ${pick((x) => x.peakHeapMiB)} | ${pick((x) => x.deliveredUpdates)} | ` +
      `${rs.reduce((n, x) => n + x.violations.length, 0)} |`)
  }
  lines.push('', ...LOAD_NOTES)
  return lines.join('\n')
}

/** Findings kept with the section (written by hand; re-check them when the figures move). */
export const LOAD_NOTES = [
  'Findings (2026-11-24):',
  '',
  '- **Creation replies dominate.** "complete" is only a little above "replies": the downloads themselves (64–256',
  '  KiB from loopback) take milliseconds, the time goes into answering the creations. The engine answers them one',
  '  after another on one promise chain (parse, mkdir, access, open storage, listener, for each new torrent) so that',
  '  replies leave in request order. Alone, an engine answers 200 new torrents in about 220 ms and 800 duplicates',
  '  (TorrentAlreadyDownloading: a parse and a map lookup) in about 50 ms; under load the same 1,000 replies take',
  '  about 1.35 s, because every `await` of the chain queues behind the I/O of the torrents already downloading',
  '  (and of the seeder, in the same process). Duplicates wait behind new torrents\' file work. Preparing creations',
  '  concurrently (parse, folders, storage) and serialising only the decisions and the replies would keep the',
  '  order and cut this. Reply latency grows linearly: about 1.1 ms per patron at 10,000.',
  '- **Routing is not the limit:** the service routes millions of updates per second (Routing section). The',
  '  1,000 / 200 run adds about 22 MiB of heap (patrons, torrents, the messages the test keeps). Peak RSS grows by',
  '  about 25–45 MiB per 100 MiB of torrent data (seeder and leecher in one process, with their buffers).',
  '- **Release is prompt:** the leecher engine\'s sockets, files, worker threads and handles are gone within',
  '  milliseconds of the last patron leaving. Here its peer connections had already closed (both sides seeds);',
  '  spec/service/churn.property.spec.ts checks the release with downloads in flight.'
]

/** Replace (or append) the Load section of docs/benchmarks.md, leaving the rest of the file as it is. */
export const writeLoadSection = (markdown: string): void => {
  let doc = existsSync(docsFile) ? readFileSync(docsFile, 'utf8') : '# Benchmarks\n'
  const block = `${START}\n${markdown.trim()}\n${END}`
  const a = doc.indexOf(START)
  const b = doc.indexOf(END)
  // Only our own markers are touched; everything else in the file stays as it is.
  if (a >= 0 && b > a) doc = doc.slice(0, a) + block + doc.slice(b + END.length)
  else doc = `${doc.trimEnd()}\n\n${block}\n`
  writeFileSync(docsFile, doc)
}

const main = async (): Promise<void> => {
  const a = parseArgs(process.argv.slice(2))
  if (a.child) return child(a)
  const sizes = a.scale ? [1, 4, 10] : [1]
  const rows: Row[] = []
  for (const k of sizes) {
    const row: Row = { patrons: a.patrons * k, torrents: a.torrents * k, results: [] }
    for (let i = 0; i < a.runs; i++) {
      const r = runChild(a, row.patrons, row.torrents)
      console.log(`${row.patrons} patrons / ${row.torrents} torrents, run ${i + 1}: replies ${r.repliesMs} ms, complete ${r.completeMs} ms, ` +
        `released ${r.releaseMs} ms, peak RSS ${r.peakRssMiB.toFixed(0)} MiB, peak heap ${r.peakHeapMiB.toFixed(0)} MiB, ${r.violations.length} violations`)
      for (const v of r.violations.slice(0, 5)) console.log(`  violation: ${v}`)
      row.results.push(r)
    }
    rows.push(row)
  }
  const md = loadSection(a, rows)
  console.log(`\n${md}`)
  if (a.docs) writeLoadSection(md)
  if (rows.some((r) => r.results.some((x) => x.violations.length > 0))) process.exitCode = 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
}
