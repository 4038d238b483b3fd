/**
 * `npm run bench:wan`: downloads over emulated WAN links (bench/wan/), with
 * seeders of every real client we interoperate with, and each compared
 * leecher run in the same scenario, in the same run, round-robin.
 *
 * Scenarios (each host has its own link to the switch; RTT is twice the sum
 * of a path's two one-way delays):
 *   mixed8  8 mixed seeders (aria2c, Transmission, rtorrent, libtorrent, engine) at 20-100 ms RTT, 100 Mbit/s each
 *   far     one libtorrent seeder at 200 ms RTT, 100 Mbit/s
 *   loss    4 seeders at 50 ms RTT with 2% loss on each seeder link
 *   tr-fast one Transmission seeder at 10 ms RTT on a 1 Gbit/s link
 *
 * Every leecher gets an address of its own for every round (Transmission
 * refuses a second download from an address that completed one). Options:
 * `--runs N` (default 3), `--only NAME[,NAME]`, `--leechers engine,aria2c,...`,
 * `--size-mib N` (overrides every scenario's size), `--docs`.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { ensureDataset, torrentWithAnnounce, verifyOutput } from './lib/data.ts'
import { lastJsonLine, runMeasured } from './lib/measure.ts'
import { MiB, MB, workDir } from './lib/paths.ts'
import { machineLine, stamp, table, updateSection } from './lib/report.ts'
import { ensureWebtorrent } from './lib/webtorrent.ts'
import { startTopology, type HostSpec, type Topology } from './wan/topology.ts'
import { leecherCommand, startSeeder, type LeecherKind, type RunningSeeder, type SeederKind } from './wan/peers.ts'

interface SeederSpec { readonly kind: SeederKind; readonly delayMs: number; readonly lossPercent?: number; readonly rateMbit: number }
interface Scenario {
  readonly name: string
  readonly label: string
  readonly sizeMiB: number
  readonly seeders: readonly SeederSpec[]
  /** Each leecher's own link. */
  readonly leecher: Omit<HostSpec, 'name'>
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'mixed8',
    label: '8 mixed seeders, 20-100 ms RTT, 100 Mbit/s each',
    sizeMiB: 256,
    seeders: ([['aria2c', 10], ['transmission', 15], ['rtorrent', 20], ['libtorrent', 25], ['engine', 30], ['aria2c', 40], ['libtorrent', 45], ['engine', 50]] as const)
      .map(([kind, delayMs]) => ({ kind, delayMs, rateMbit: 100 })),
    leecher: { delayMs: 0, rateMbit: 1000 }
  },
  {
    name: 'far',
    label: 'one libtorrent seeder at 200 ms RTT, 100 Mbit/s',
    sizeMiB: 128,
    seeders: [{ kind: 'libtorrent', delayMs: 100, rateMbit: 100 }],
    leecher: { delayMs: 0, rateMbit: 1000 }
  },
  {
    name: 'loss',
    label: '4 seeders (aria2c, libtorrent, engine, Transmission) at 50 ms RTT, 2% loss, 100 Mbit/s',
    sizeMiB: 128,
    seeders: (['aria2c', 'libtorrent', 'engine', 'transmission'] as const).map((kind) => ({ kind, delayMs: 25, lossPercent: 2, rateMbit: 100 })),
    leecher: { delayMs: 0, rateMbit: 1000 }
  },
  {
    name: 'tr-fast',
    label: 'one Transmission seeder at 10 ms RTT, 1 Gbit/s',
    sizeMiB: 256,
    seeders: [{ kind: 'transmission', delayMs: 5, rateMbit: 1000 }],
    leecher: { delayMs: 0, rateMbit: 1000 }
  }
]

const ALL_LEECHERS: readonly LeecherKind[] = ['engine', 'aria2c', 'libtorrent', 'webtorrent']
const TRACKER_PORT = 6969

interface Result { readonly leecher: LeecherKind; readonly seconds: number; readonly cpuS: number; readonly rssMiB: number; readonly error: string | null }

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

/** opentracker inside the tracker host, serving only our torrent (its whitelist). */
const startTracker = async (topo: Topology, infoHash: string, dir: string): Promise<() => Promise<void>> => {
  // opentracker drops root before reading its whitelist: the folder must be world-readable.
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  const host = topo.hosts[0]!
  writeFileSync(join(dir, 'whitelist'), `${infoHash}\n`, { mode: 0o644 })
  writeFileSync(join(dir, 'opentracker.conf'), `listen.tcp_udp ${host.address}:${TRACKER_PORT}\naccess.whitelist ${join(dir, 'whitelist')}\n`, { mode: 0o644 })
  const { spawn } = await import('node:child_process')
  const [cmd, ...rest] = topo.exec(host, 'opentracker', ['-f', join(dir, 'opentracker.conf')])
  const child = spawn(cmd!, rest, { stdio: 'ignore' })
  for (let i = 0; i < 100; i++) {
    const out = execFileSync('ip', ['netns', 'exec', host.netns, 'ss', '-Hltn', `sport = :${TRACKER_PORT}`], { encoding: 'utf8' })
    if (out.trim() !== '') break
    await new Promise((r) => setTimeout(r, 50))
  }
  return async () => { child.kill('SIGKILL') }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!
}

async function runScenario (sc: Scenario, leechers: readonly LeecherKind[], runs: number, sizeMiB: number): Promise<Result[]> {
  const ds = ensureDataset(sizeMiB * MiB)
  const dir = join(workDir, `wan-${sc.name}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  const specs: HostSpec[] = [
    { name: 'tracker', delayMs: 0, rateMbit: 0 },
    ...sc.seeders.map((s, i) => ({ name: `s${i}`, delayMs: s.delayMs, lossPercent: s.lossPercent, rateMbit: s.rateMbit })),
    ...Array.from({ length: runs }, (_, r) => leechers.map((l) => ({ ...sc.leecher, name: `${l.slice(0, 4)}${r}` }))).flat()
  ]
  const topo = await startTopology(specs)
  const seeders: RunningSeeder[] = []
  let stopTracker: (() => Promise<void>) | null = null
  try {
    const torrent = torrentWithAnnounce(ds.torrentFile, `http://${topo.hosts[0]!.address}:${TRACKER_PORT}/announce`, join(dir, 'wan.torrent'))
    stopTracker = await startTracker(topo, ds.infoHash, join(dir, 'tracker'))
    // Seeders start one after another: several check their data on start, and in parallel they would share the cores.
    for (const [i, s] of sc.seeders.entries()) seeders.push(await startSeeder(topo, topo.hosts[1 + i]!, s.kind, torrent, ds.dir, dir))
    const results: Result[] = []
    for (let r = 0; r < runs; r++) {
      // Rotate the order each round so no leecher always goes first.
      const order = leechers.map((_, i) => leechers[(i + r) % leechers.length]!)
      for (const l of order) {
        const host = topo.hosts.find((h) => h.name === `${l.slice(0, 4)}${r}`)!
        const out = join(dir, `out-${host.name}`)
        mkdirSync(out, { recursive: true })
        const [cmd, args] = leecherCommand(l, torrent, out, 300)
        const m = await runMeasured('ip', ['netns', 'exec', host.netns, cmd, ...args], { timeoutMs: 320_000, cwd: out })
        const error = m.exitCode !== 0
          ? `exit ${m.exitCode ?? m.signal}: ${m.stderr.trim().split('\n').slice(-2).join(' / ')}`
          : verifyOutput(join(out, basename(ds.file)), ds.file, 'sample')
        const res = { leecher: l, seconds: m.wallS, cpuS: m.cpuS, rssMiB: m.peakRssBytes / MiB, error }
        console.log(`[wan] ${sc.name} round ${r + 1} ${l}: ${error ?? `${m.wallS.toFixed(1)} s, ${(ds.size / MB / m.wallS).toFixed(1)} MB/s`}`)
        results.push(res)
        // WAN_LOG=DIR keeps each leecher's last JSON line (the engine's per-peer contributions) for a closer look.
        const keep = process.env.WAN_LOG
        if (keep !== undefined && keep !== '') {
          mkdirSync(keep, { recursive: true })
          writeFileSync(join(keep, `${sc.name}-${r + 1}-${l}.json`), JSON.stringify(lastJsonLine(m.stdout)) + '\n')
        }
        rmSync(out, { recursive: true, force: true })
      }
    }
    return results
  } finally {
    for (const s of seeders) await s.stop().catch(() => {})
    await stopTracker?.()
    await topo.close()
  }
}

function scenarioTable (sc: Scenario, sizeMiB: number, results: readonly Result[], leechers: readonly LeecherKind[]): string {
  const ok = (l: LeecherKind): Result[] => results.filter((r) => r.leecher === l && r.error === null)
  const med = new Map(leechers.map((l) => [l, median(ok(l).map((r) => r.seconds))]))
  const rows = leechers.map((l) => {
    const mine = med.get(l)!
    const others = leechers.filter((o) => o !== l).map((o) => med.get(o)!).filter((x) => Number.isFinite(x))
    const best = others.length > 0 ? Math.min(...others) : NaN
    const failed = results.filter((r) => r.leecher === l && r.error !== null)
    return [
      l,
      Number.isFinite(mine) ? mine.toFixed(1) : 'failed',
      Number.isFinite(mine) ? (sizeMiB * MiB / MB / mine).toFixed(1) : '-',
      median(ok(l).map((r) => r.cpuS)).toFixed(1),
      median(ok(l).map((r) => r.rssMiB)).toFixed(0),
      Number.isFinite(mine) && Number.isFinite(best) ? `${(best / mine).toFixed(2)}x` : '-',
      failed.length === 0 ? '' : failed.map((f) => f.error).join('; ').slice(0, 120)
    ]
  })
  return `### ${sc.label} (${sizeMiB} MiB)\n\n` + table(['leecher', 'median s', 'MB/s', 'CPU s', 'peak RSS MiB', 'speed vs best other', 'failures'], rows)
}

export async function runWanBench (): Promise<string> {
  const runs = Number(arg('runs') ?? 3)
  const only = arg('only')?.split(',')
  const leechers = (arg('leechers')?.split(',') as LeecherKind[] | undefined) ?? ALL_LEECHERS
  if (leechers.includes('webtorrent')) ensureWebtorrent()
  const sections: string[] = []
  for (const sc of SCENARIOS.filter((s) => only === undefined || only.includes(s.name))) {
    const sizeMiB = Number(arg('size-mib') ?? sc.sizeMiB)
    const results = await runScenario(sc, leechers, runs, sizeMiB)
    const section = scenarioTable(sc, sizeMiB, results, leechers)
    console.log(section + '\n')
    sections.push(section)
  }
  const text = [
    `Measured ${stamp()}, ${runs} round(s), leechers round-robin in each scenario; ${machineLine()}.`,
    'Links emulated in user space (bench/wan/link.c; this kernel has no netem), checked by `npm run bench:wan-check`.',
    'TCP congestion control here is BBR, which emulated loss barely slows; cubic on most user machines would suffer more.',
    '"speed vs best other" is the best other leecher\'s median time over this one\'s (above 1.00x: faster than every other).',
    '',
    ...sections
  ].join('\n\n')
  return text
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const text = await runWanBench()
  if (process.argv.includes('--docs')) updateSection('wan', text)
}
