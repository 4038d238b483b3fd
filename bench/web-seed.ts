/**
 * Web seed benchmark: one nginx on 127.0.0.1 serving a single-file torrent's
 * data (256 KiB pieces), no peers; this project's engine and aria2c each
 * download it from the web seed alone, alternating, N times. Reports MB/s
 * (median, min–max) and rewrites the "web-seed" section of docs/benchmarks.md.
 *
 *   node --import tsx bench/web-seed.ts [--quick] [--runs N] [--no-docs]
 */
import { join } from 'node:path'
import { rm } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { torrentClient } from '../lib/engine/index.ts'
import { createNewTorrent, isTorrentStatusUpdate, type EngineCommand, type EngineFeedback } from '../lib/messages.ts'
import { collect, PushSource } from '../spec/support/most.ts'
import { startNginx } from '../spec/support/peers/nginx.ts'
import { writeRandomFile } from '../spec/support/peers/data.ts'
import { mktorrent } from '../spec/support/peers/mktorrent.ts'
import { makeTempDir } from '../spec/support/peers/tmp.ts'
import { pollUntil } from '../spec/support/peers/wait.ts'
import { machineLine, stamp, table, updateSection } from './lib/report.ts'
import { cell, summarize } from './lib/stats.ts'

const run = promisify(execFile)
const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const runsAt = argv.indexOf('--runs')
const runs = runsAt >= 0 ? Number(argv[runsAt + 1]) : quick ? 2 : 3
const size = (quick ? 64 : 256) << 20

const engineRun = async (torrent: Uint8Array, out: string): Promise<number> => {
  const commands = new PushSource<EngineCommand>()
  const feedback = collect<EngineFeedback>(torrentClient({ statusInterval: 100, dht: false })(commands))
  try {
    const t0 = performance.now()
    commands.event(createNewTorrent(torrent, { savefolder: out }))
    await pollUntil(() => {
      const s = feedback.events.filter(isTorrentStatusUpdate).at(-1)?.statsdictionary
      if (s?.activity.startsWith('error')) throw new Error(s.activity)
      return s?.activity === 'seeding'
    }, { timeoutMs: 600_000, intervalMs: 20, what: 'engine download' })
    return performance.now() - t0
  } finally {
    feedback.dispose()
  }
}

const aria2Run = async (torrentPath: string, out: string): Promise<number> => {
  const t0 = performance.now()
  await run('aria2c', ['--no-conf=true', `--dir=${out}`, '--seed-time=0', '--enable-dht=false', '--enable-dht6=false',
    '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--file-allocation=none', '--summary-interval=0',
    '--console-log-level=error', '--bt-stop-timeout=0', torrentPath], { timeout: 600_000 })
  return performance.now() - t0
}

const main = async (): Promise<void> => {
  const web = await startNginx()
  const tmp = await makeTempDir('bench-ws-')
  try {
    const file = join(web.root, 'data.bin')
    await writeRandomFile(file, size)
    const made = await mktorrent(file, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 18, webSeeds: [`${web.base}data.bin`] })
    const times: Record<'engine' | 'aria2c', number[]> = { engine: [], aria2c: [] }
    for (let i = 0; i < runs; i++) {
      const order: ReadonlyArray<'engine' | 'aria2c'> = i % 2 === 0 ? ['engine', 'aria2c'] : ['aria2c', 'engine']
      for (const who of order) {
        const out = join(tmp.path, `${who}-${i}`)
        const ms = who === 'engine' ? await engineRun(made.bytes, out) : await aria2Run(made.path, out)
        times[who].push(ms)
        await rm(out, { recursive: true, force: true })
        console.log(`${who} run ${i + 1}: ${(size / 1e6 / (ms / 1000)).toFixed(1)} MB/s`)
      }
    }
    const { stdout } = await run('aria2c', ['--version'])
    const mbps = (who: 'engine' | 'aria2c') => summarize(times[who].map((ms) => size / 1e6 / (ms / 1000)))
    const markdown = [
      '## Web seed download',
      '',
      `${stamp()}. ${size >> 20} MiB single-file torrent, 256 KiB pieces, served by nginx on 127.0.0.1 as its only source (no peers),`,
      `${runs} runs each, alternating. The machine was shared with other work while this ran (the load average below), so`,
      'the figures are rough; what they compare is the two clients on the same server at the same time. Each time runs from',
      'adding the torrent (the engine: from CreateNewTorrent, its start included) to the whole download verified.',
      '',
      table(['downloader', 'MB/s (median, min–max)'], [
        ['torrent-patron engine (4 MiB Range requests, 2 per seed)', cell(mbps('engine'))],
        [`${stdout.split('\n')[0]?.trim() ?? 'aria2c'}`, cell(mbps('aria2c'))]
      ]),
      '',
      machineLine(),
      '',
      'Reproduce: `node --import tsx bench/web-seed.ts [--quick] [--runs N]`.'
    ].join('\n')
    console.log(markdown)
    if (!argv.includes('--no-docs')) updateSection('web-seed', markdown)
  } finally {
    await web.close()
    await tmp.close()
  }
}

await main()
