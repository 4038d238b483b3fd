/**
 * The download benchmark over each transport: this project's engine leeching
 * a single-file torrent on 127.0.0.1 from an engine seeder and from a
 * python3-libtorrent seeder, each kept to TCP and then to uTP (the seeder
 * and the leecher both: `--transport` of the engine's children,
 * LT_TRANSPORT of bench/wan/libtorrent-peer.py). Reports MB/s, CPU s per GiB
 * and peak RSS of the leecher (median, min–max) and rewrites the
 * "download-transports" section of docs/benchmarks.md.
 *
 *   npm run bench:download -- --transports [--quick] [--runs N] [--docs|--no-docs]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { ensureDataset, warmCache } from './lib/data.ts'
import { startEngineSeeder } from './lib/engine-seeder.ts'
import { engineChild, engineRuntimeNote } from './lib/compiled.ts'
import { killOnExit } from './lib/children.ts'
import { leechOnce, summarizeRuns, type ContenderResult, type LeechRun } from './lib/leech.ts'
import { freePort } from './lib/net.ts'
import { benchDir, GiB, MB, MiB } from './lib/paths.ts'
import { machineLine, stamp, table, type BenchOptions } from './lib/report.ts'
import { cell, fmt } from './lib/stats.ts'

type Transport = 'tcp' | 'utp'
type SeederKind = 'engine' | 'libtorrent'

interface Seeder {
  readonly port: number
  stop(): Promise<void>
}

/** bench/wan/libtorrent-peer.py seeding `dir` on `port` (seed mode: the data is trusted), kept to `transport`. */
const startLibtorrentSeeder = async (torrent: string, dir: string, port: number, transport: Transport, timeoutMs: number): Promise<Seeder> => {
  const child: ChildProcess = killOnExit(
    spawn('/usr/bin/python3', [join(benchDir, 'wan', 'libtorrent-peer.py'), 'seed', torrent, dir, String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LT_TRANSPORT: transport }
    })
  )
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(kill)
  }
  let timer: NodeJS.Timeout | undefined
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.includes('"seeding"')) resolve()
      })
      void exited.then(() => reject(new Error(`libtorrent seeder exited: ${stderr.trim().split('\n').slice(-3).join(' / ')}`)))
      timer = setTimeout(() => reject(new Error('libtorrent seeder not seeding in time')), timeoutMs)
    })
  } catch (e) {
    await stop()
    throw e
  } finally {
    clearTimeout(timer)
  }
  return { port, stop }
}

const startSeeder = async (kind: SeederKind, torrent: string, dir: string, transport: Transport): Promise<Seeder> => {
  const port = await freePort()
  if (kind === 'libtorrent') return startLibtorrentSeeder(torrent, dir, port, transport, 120_000)
  return startEngineSeeder(torrent, dir, port, 120_000, undefined, ['--transport', transport])
}

/**
 * Run every (seeder, transport) pair `opts.runs` times, round-robin over the
 * pairs; a seeder per pair lives for that pair's runs of one round.
 */
export const runTransportBench = async (opts: BenchOptions, log: (s: string) => void = console.log): Promise<{ results: ContenderResult[]; markdown: string }> => {
  const size = opts.quick ? 32 * MiB : 128 * MiB
  const timeoutMs = opts.timeoutS !== null ? opts.timeoutS * 1000 : 120_000
  const ds = ensureDataset(size, log)
  warmCache(ds.file)
  const pairs: Array<{ name: string; kind: SeederKind; transport: Transport }> = []
  for (const kind of ['engine', 'libtorrent'] as const) {
    for (const transport of ['tcp', 'utp'] as const) pairs.push({ name: `${kind} seeder, ${transport === 'tcp' ? 'TCP' : 'uTP'} only`, kind, transport })
  }
  const runs = new Map<string, LeechRun[]>(pairs.map((p) => [p.name, []]))
  const skipped = new Map<string, string>()
  for (let i = 1; i <= opts.runs; i++) {
    for (const p of pairs) {
      if (skipped.has(p.name)) continue
      let seeder: Seeder
      try {
        seeder = await startSeeder(p.kind, ds.torrentFile, ds.dir, p.transport)
      } catch (e) {
        skipped.set(p.name, `seeder failed: ${(e as Error).message}`)
        log(`[download-transports] ${p.name}: ${skipped.get(p.name)}`)
        continue
      }
      try {
        const r = await leechOnce(
          {
            name: `engine-${p.kind}-${p.transport}`,
            verify: 'full',
            command: (out) => [
              process.execPath,
              [...engineChild('leech-engine'), '--torrent', ds.torrentFile, '--out', out, '--peer', `127.0.0.1:${seeder.port}`, '--transport', p.transport, '--timeout-ms', String(timeoutMs)]
            ]
          },
          ds.file,
          timeoutMs
        )
        runs.get(p.name)!.push(r)
        log(`[download-transports] run ${i}/${opts.runs} ${p.name}: ` + (r.error ? `FAILED ${r.error}` : `${fmt(size / MB / r.wallS)} MB/s, ${fmt(r.cpuS / (size / GiB))} CPU s/GiB, ${fmt(r.peakRssBytes / MiB)} MiB RSS`))
      } finally {
        await seeder.stop()
      }
    }
  }
  const results = pairs.map((p) => summarizeRuns(p.name, runs.get(p.name)!, size, skipped.get(p.name) ?? null))
  const rows = results.map((r) =>
    r.skipped
      ? [r.name, r.skipped, '', '', '', '']
      : [r.name, cell(r.mbps), cell(r.transferMbps), cell(r.cpuPerGiB), cell(r.rssMiB, 0), r.failures.length ? `${r.failures.length} failed: ${r.failures[0]}` : `${r.runs.length}/${r.runs.length} ok`]
  )
  const markdown = [
    '## Download over TCP and over uTP',
    '',
    `The engine leeching ${size / MiB} MiB (one file, 256 KiB pieces) over 127.0.0.1 from one seeder given as an explicit peer: ` +
      'this project\'s engine (bench/seed-engine.ts) or python3-libtorrent 2.0 (bench/wan/libtorrent-peer.py, seed mode), ' +
      'with seeder and leecher both kept to TCP, then both to uTP (the engine\'s `tcp: false`; libtorrent\'s ' +
      '`enable_outgoing_tcp`/`enable_incoming_tcp` false). A fresh seeder per run; ' +
      `${opts.runs} run(s) per row, round-robin. uTP is libutp through utp-native (datagrams of at most ~1.4 KB, ` +
      'each a JavaScript event), TCP the kernel\'s. Short runs on a shared, loaded 2-core machine (other agents\' builds and tests ran at the same time): ' +
      'read the figures as orders of magnitude, not as a comparison to the other sections. ' + engineRuntimeNote(),
    '',
    `Measured ${stamp()} on ${machineLine()}.`,
    '',
    table(['seeder, transport', 'MB/s', 'transfer MB/s', 'CPU s per GiB', 'peak RSS MiB', 'runs'], rows),
    '',
    `Reproduce: \`npm run bench:download -- --transports${opts.quick ? ' --quick' : ''}\``
  ].join('\n')
  return { results, markdown }
}
