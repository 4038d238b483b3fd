/**
 * Many torrents: one engine holding 1,000 small torrents, seeding
 * with no peers. Measures the idle cost per torrent (V8 heap after a full GC,
 * against the same engine with no torrent; process RSS) and the CPU the
 * process spends while every torrent reports its status at 1 Hz
 * (bench/torrents-engine.ts, one child process per run). aria2c seeding the
 * same 1,000 torrents in one process gives the reference RSS and idle CPU.
 *
 *   npm run bench:torrents [-- --quick] [--runs N] [--docs|--no-docs]
 *
 * Full: 1,000 torrents of 64 KiB (16 KiB pieces), a 10 s window, `runs` runs.
 * Quick: 100 torrents, a 2 s window, one run.
 */
import { spawn } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { aria2Version } from './lib/aria2.ts'
import { killOnExit } from './lib/children.ts'
import { lastJsonLine, procSnapshot, runMeasured } from './lib/measure.ts'
import { freePort, sleep } from './lib/net.ts'
import { KiB, MiB, benchDir, workDir } from './lib/paths.ts'
import { machineLine, parseBenchArgs, stamp, table, updateSection, type BenchOptions } from './lib/report.ts'
import { cell, fmt, summarize, type Summary } from './lib/stats.ts'

export interface TorrentsOutcome {
  readonly count: number
  readonly heapPerTorrentKiB: Summary
  readonly cpuSharePercent: Summary
  readonly met: boolean
  readonly summary: string
  readonly markdown: string
}

/** aria2c seeding every `tN.torrent` of `dir` in one process: RSS and CPU share over the window. */
const aria2Idle = async (dir: string, count: number, settleS: number, windowS: number): Promise<{ rssMiB: number; cpuShare: number }> => {
  const list = join(dir, 'aria2-input.txt')
  writeFileSync(list, Array.from({ length: count }, (_, i) => `${join(dir, `t${i}.torrent`)}\n  dir=${dir}\n`).join(''))
  const child = killOnExit(
    spawn(
      'aria2c',
      [
        '-i',
        list,
        `-j${count}`,
        '--bt-seed-unverified=true',
        '--seed-ratio=0.0',
        `--listen-port=${await freePort()}`,
        '--bt-max-peers=0',
        '--file-allocation=none',
        '--enable-dht=false',
        '--enable-dht6=false',
        '--bt-enable-lpd=false',
        '--enable-peer-exchange=false',
        '--console-log-level=warn',
        '--summary-interval=0'
      ],
      { stdio: 'ignore' }
    )
  )
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  try {
    await sleep(settleS * 1000)
    const a = procSnapshot(child.pid!)
    const t0 = performance.now()
    await sleep(windowS * 1000)
    const b = procSnapshot(child.pid!)
    return { rssMiB: b.peakRssBytes / MiB, cpuShare: (b.cpuS - a.cpuS) / ((performance.now() - t0) / 1000) }
  } finally {
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
}

export const runTorrentsBench = async (opts: BenchOptions, log: (s: string) => void = console.log): Promise<TorrentsOutcome> => {
  const count = opts.quick ? 100 : 1000
  const size = 64 * KiB
  const windowS = opts.quick ? 1 : 10
  const settleS = opts.quick ? 1 : 2
  const runs = opts.quick ? 1 : opts.runs
  const dir = join(workDir, 'torrents')
  const engine: Record<string, number>[] = []
  const engineRss: number[] = []
  const a2: { rssMiB: number; cpuShare: number }[] = []
  const failures: string[] = []
  try {
    for (let i = 1; i <= runs; i++) {
      rmSync(dir, { recursive: true, force: true })
      const m = await runMeasured(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', join(benchDir, 'torrents-engine.ts'), '--dir', dir, '--count', String(count), '--size', String(size), '--window-s', String(windowS), '--settle-s', String(settleS)],
        { timeoutMs: 240_000 }
      )
      const json = lastJsonLine(m.stdout)
      if (m.exitCode !== 0 || json === null) {
        failures.push(`exit ${m.exitCode ?? m.signal}: ${m.stderr.trim().split('\n').slice(-2).join(' / ')}`)
        log(`[torrents] run ${i}/${runs} engine: FAILED ${failures.at(-1)}`)
        continue
      }
      engine.push(json as Record<string, number>)
      engineRss.push(m.peakRssBytes / MiB)
      log(
        `[torrents] run ${i}/${runs} engine: ${fmt(json['heapPerTorrent'] as number / KiB)} KiB heap per torrent, ` +
          `${fmt((json['cpuShare'] as number) * 100)}% of a core idle, ${fmt(json['updatesPerSecond'] as number)} updates/s`
      )
      // aria2c on the same files and .torrents the engine run left.
      const r = await aria2Idle(dir, count, opts.quick ? 1 : 5, windowS)
      a2.push(r)
      log(`[torrents] run ${i}/${runs} aria2c: ${fmt(r.rssMiB)} MiB RSS, ${fmt(r.cpuShare * 100)}% of a core idle`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const pick = (k: string, scale = 1): Summary => summarize(engine.map((j) => (j[k] ?? NaN) * scale))
  const heap = pick('heapPerTorrent', 1 / KiB)
  const cpu = pick('cpuShare', 100)
  const met = failures.length === 0 && heap.max <= 30 && cpu.max < 5
  const a2name = (await aria2Version()).replace(/^aria2 version /, 'aria2c ')
  const rows = [
    [
      'torrent-patron (this project)',
      cell(heap),
      cell(pick('rssPerTorrent', 1 / KiB)),
      cell(summarize(engineRss), 0),
      cell(cpu),
      cell(pick('updatesPerSecond')),
      cell(pick('readyMs', 1 / 1000)),
      failures.length ? `${failures.length} failed: ${failures[0]}` : `${engine.length}/${runs} ok`
    ],
    [a2name, '–', '–', cell(summarize(a2.map((r) => r.rssMiB)), 0), cell(summarize(a2.map((r) => r.cpuShare * 100))), '–', '–', `${a2.length}/${runs} ok`]
  ]
  const markdown = [
    '## Many torrents',
    '',
    `${count.toLocaleString('en-US')} single-file torrents of ${size / KiB} KiB (16 KiB pieces) in one engine, seeding with no ` +
      'peer and no tracker (bench/torrents-engine.ts, one process per run). "Heap per torrent" is V8 heap used after a ' +
      'full GC with every torrent seeding, minus the same engine with none, divided by the count; "RSS per torrent" the ' +
      `same for the process RSS. "Idle CPU" is the process's user + system time over a ${windowS} s window in which ` +
      'nothing happens but each torrent\'s 1 Hz status update (and its timers), as a share of one core. aria2c seeds the ' +
      'same files from the same .torrents in one process (`-j` = count, no DHT), measured from /proc after a settling ' +
      `pause. ${runs} run(s), median (min–max).`,
    '',
    `Measured ${stamp()} on ${machineLine()}.`,
    '',
    table(['process', 'heap per torrent KiB', 'RSS per torrent KiB', 'peak RSS MiB', 'idle CPU % of a core', 'status updates/s', 'all seeding after s', 'runs'], rows),
    '',
    `- Target: at most 30 KiB of heap per torrent (largest: ${fmt(heap.max)}) and status updates for all at 1 Hz ` +
      `under 5% of one core (largest: ${fmt(cpu.max)}%): ${met ? 'met' : 'not met'}.`,
    '',
    `Reproduce: \`npm run bench:torrents${opts.quick ? ' -- --quick' : ''}\``
  ].join('\n')
  const summary = `${count} torrents: ${fmt(heap.median)} KiB heap per torrent, ${fmt(cpu.median)}% of a core idle; target ${met ? 'met' : 'not met'}`
  return { count, heapPerTorrentKiB: heap, cpuSharePercent: cpu, met, summary, markdown }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const opts = parseBenchArgs(process.argv.slice(2))
  const outcome = await runTorrentsBench(opts)
  console.log('\n' + outcome.markdown)
  console.log(`[bench] result torrents: ${outcome.summary}`)
  if (opts.docs) updateSection('torrents', outcome.markdown)
  process.exit(0)
}
