/**
 * Routing throughput of one torrent service over the in-memory engine model
 * (no network, no disk): what the service itself costs.
 *
 *   npm run bench:routing [-- --quick] [--runs N] [--docs|--no-docs] [--cpu-time]
 *
 * - status updates routed per second over a FIXED set of 10,000 torrents
 *   owned by 1, 100 or 10,000 patrons (the headline target: only the patron
 *   count changes), updates spread round-robin over the torrents;
 * - the same with each patron owning one torrent, so the torrent count grows
 *   with the patron count (kept as a second table, with its floor below);
 * - create -> reply round trips per second with 1,000 concurrent patrons, each
 *   closing its torrent and asking for the next one as soon as it is answered
 *   (replies come back on a microtask, so 1,000 requests are in flight).
 *
 * - for reference, "bare dispatch" at 1 and 10,000 patrons, over the fixed
 *   torrents and with one torrent each: the same message and sink objects
 *   (each configuration's are built once and shared) with the service
 *   replaced by one Map lookup and one call, each torrent's entry holding its
 *   owner's sink. It shows what touching 10,000 torrents' and
 *   patrons' objects in turn costs by itself (cache misses), which no routing
 *   code can remove.
 *
 * Each patron's sink is one small class instance, as @most's own sinks are:
 * with closures (an object literal of arrow functions around a callback) a
 * delivery visits three objects of the bench's making per patron, and at
 * 10,000 patrons those cache misses, not the service, set the ratio.
 *
 * `runRoutingBench(opts)` returns the figures (medians of `runs`) and a
 * markdown table, for bench/run.ts.
 */
import { pathToFileURL } from 'node:url'
import type { Scheduler, Sink } from '@most/types'
import { newDefaultScheduler } from '@most/scheduler'
import { torrentService, PushSource } from '../lib/service/index.ts'
import { torrentPatron } from '../lib/patron.ts'
import {
  closeTorrent,
  createNewTorrent,
  emptyStats,
  torrentStatusUpdate,
  type Command,
  type Feedback,
  type TorrentId,
  type TorrentStatusUpdate
} from '../lib/messages.ts'
import { EngineModel } from '../spec/support/engine-model.ts'
import { machineLine, parseBenchArgs, stamp, updateSection } from './lib/report.ts'

export interface RoutingBenchOptions {
  /** Smaller workloads (seconds, not tens of seconds). */
  readonly quick?: boolean
  /** Repetitions; the median is reported. Default 3. */
  readonly runs?: number
  /**
   * Time by this process's CPU time instead of the wall clock: on a loaded
   * machine the wall clock also counts the time other processes held the CPU.
   */
  readonly cpuTime?: boolean
}

export interface RoutingBenchResult {
  /** The torrent count of {@link RoutingBenchResult.updatesPerSecond}, the same for every patron count. */
  readonly fixedTorrents: number
  /** Status updates routed per second over `fixedTorrents` torrents, by patron count (the headline target). */
  readonly updatesPerSecond: Readonly<Record<number, number>>
  /** Status updates routed per second with one torrent per patron, by patron count. */
  readonly oneTorrentEachPerSecond: Readonly<Record<number, number>>
  /** Create -> reply round trips per second with `concurrentPatrons` patrons. */
  readonly roundTripsPerSecond: number
  readonly concurrentPatrons: number
  /** Bare dispatch (Map lookup + sink call, no service) per second, one torrent per patron, by patron count. */
  readonly bareDispatchPerSecond: Readonly<Record<number, number>>
  /** Bare dispatch over the same `fixedTorrents` torrents, by patron count: the floor of the fixed-torrent ratio. */
  readonly bareFixedPerSecond: Readonly<Record<number, number>>
  /** One line for logs: the fixed-torrent 10,000-patron figure and its ratio to the 1-patron one. */
  readonly summary: string
  readonly markdown: string
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** Updates sent before each timed loop, so it times optimised code (and the 1-patron case, run first, is not penalised). */
const WARM_UP = 100_000

/**
 * A patron's sink: one small class instance, as @most's own sinks are, so a
 * delivery touches one object of the patron's (not a closure chain of the
 * bench's making) and the figures measure the service.
 */
class CountingSink implements Sink<Feedback> {
  constructor(private readonly onEvent: (f: Feedback) => void) {}
  event(_t: number, f: Feedback): void {
    this.onEvent(f)
  }
  end(): void {}
  error(_t: number, e: Error): void {
    throw e
  }
}

/** What every sink of a fixture counts into, and where creation replies go. */
interface Tally {
  delivered: number
  onCreated: (id: TorrentId) => void
}

/** Counts status updates into a shared tally; creation replies go to the tally's `onCreated`. */
class TallySink implements Sink<Feedback> {
  constructor(private readonly tally: Tally) {}
  event(_t: number, f: Feedback): void {
    if (f.type === 'TorrentStatusUpdate') this.tally.delivered++
    else if (f.type === 'NewTorrentCreated') this.tally.onCreated(f.torrentid)
    else throw new Error(`unexpected ${f.type}`)
  }
  end(): void {}
  error(_t: number, e: Error): void {
    throw e
  }
}

const countingSink = (onEvent: (f: Feedback) => void): Sink<Feedback> => new CountingSink(onEvent)

/**
 * One configuration's patron sinks and status updates, built once and in a
 * row (so neither side gets a more compact layout) and given to both the
 * service run and bare dispatch: the same messages reach the same sinks, and
 * only the routing between them differs. Torrent k is `T<k+1>`, owned by
 * patron `floor(k / (torrents / patrons))`, the order the engine model
 * numbers torrents created patron by patron.
 */
interface Fixture {
  readonly patrons: number
  readonly torrents: number
  readonly tally: Tally
  readonly sinks: readonly TallySink[]
  readonly updates: readonly TorrentStatusUpdate[]
}

const fixture = (patrons: number, torrents: number): Fixture => {
  if (torrents % patrons !== 0) throw new Error(`${torrents} torrents do not split evenly over ${patrons} patrons`)
  const tally: Tally = { delivered: 0, onCreated: () => {} }
  const sinks = Array.from({ length: patrons }, () => new TallySink(tally))
  const updates = Array.from({ length: torrents }, (_, k) => torrentStatusUpdate(`T${k + 1}`, emptyStats))
  return { patrons, torrents, tally, sinks, updates }
}

/** Seconds on some clock: the wall clock, or this process's CPU time (user + system). */
type Clock = () => number
const wallClock: Clock = () => performance.now() / 1000
const cpuClock: Clock = () => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1e6
}

/**
 * Updates routed per second with the fixture's patrons owning its torrents
 * between them (`torrents / patrons` each, created in turn), the updates going
 * round-robin over all torrents.
 */
const measureUpdates = (f: Fixture, total: number, scheduler: Scheduler, clock: Clock): number => {
  const model = new EngineModel({ record: false })
  const service = torrentService(model.engine)
  const ids: TorrentId[] = []
  f.tally.onCreated = (id) => void ids.push(id)
  const lines = []
  const each = f.torrents / f.patrons
  let hash = 0
  for (let i = 0; i < f.patrons; i++) {
    const cmds = new PushSource<Command>()
    lines.push(torrentPatron(service, cmds).run(f.sinks[i]!, scheduler))
    for (let j = 0; j < each; j++) cmds.event(createNewTorrent(`h${hash++}`))
  }
  f.tally.onCreated = () => {
    throw new Error('no creation reply expected')
  }
  if (ids.length !== f.torrents) throw new Error(`created ${ids.length} of ${f.torrents} torrents`)
  ids.forEach((id, k) => {
    if (id !== f.updates[k]!.torrentid) throw new Error(`torrent ${k} is ${id}, not ${f.updates[k]!.torrentid}`)
  })
  const run = model.runs[0]!
  const updates = f.updates
  for (let k = 0; k < WARM_UP; k++) run.emit(updates[k % updates.length]!) // warm up
  f.tally.delivered = 0
  const t0 = clock()
  for (let k = 0; k < total; k++) run.emit(updates[k % updates.length]!)
  const seconds = clock() - t0
  if (f.tally.delivered !== total) throw new Error(`routed ${f.tally.delivered} of ${total} updates`)
  for (const l of lines) l.dispose()
  if (service.state !== 'idle') throw new Error('service still running after everyone left')
  return total / seconds
}

/**
 * The floor under {@link measureUpdates}: the fixture's updates to its sinks,
 * routed by one Map lookup and a direct call: each torrent's entry holds its
 * owner's sink and scheduler itself, so a delivery touches no object per
 * patron but the patron's own sink.
 */
const measureBareDispatch = (f: Fixture, total: number, scheduler: Scheduler, clock: Clock): number => {
  const targets = new Map<TorrentId, { sink: Sink<Feedback>; scheduler: Scheduler }[]>()
  const each = f.torrents / f.patrons
  f.updates.forEach((u, k) => targets.set(u.torrentid, [{ sink: f.sinks[Math.floor(k / each)]!, scheduler }]))
  const dispatch = (u: TorrentStatusUpdate): void => {
    const ts = targets.get(u.torrentid)
    if (ts !== undefined) for (const t of ts) t.sink.event(t.scheduler.currentTime(), u)
  }
  const updates = f.updates
  for (let k = 0; k < WARM_UP; k++) dispatch(updates[k % updates.length]!)
  f.tally.delivered = 0
  const t0 = clock()
  for (let k = 0; k < total; k++) dispatch(updates[k % updates.length]!)
  const seconds = clock() - t0
  if (f.tally.delivered !== total) throw new Error(`dispatched ${f.tally.delivered} of ${total} updates`)
  return total / seconds
}

/** Round trips per second: each patron keeps one creation in flight until `total` replies. */
const measureRoundTrips = (patrons: number, total: number, scheduler: Scheduler, clock: Clock): Promise<number> =>
  new Promise((resolve, reject) => {
    const model = new EngineModel({ record: false, delay: () => Promise.resolve() })
    const service = torrentService(model.engine)
    let replies = 0
    let asked = 0
    let t0 = 0
    const lines: { dispose(): void }[] = []
    const sources: PushSource<Command>[] = []
    const finish = (): void => {
      const seconds = clock() - t0
      for (const l of lines) l.dispose()
      if (service.state !== 'idle') reject(new Error('service still running after everyone left'))
      else resolve(total / seconds)
    }
    for (let i = 0; i < patrons; i++) {
      const cmds = new PushSource<Command>()
      sources.push(cmds)
      lines.push(
        torrentPatron(service, cmds).run(
          countingSink((f) => {
            if (f.type !== 'NewTorrentCreated') return reject(new Error(`unexpected ${f.type}`))
            replies++
            // Re-entrant on purpose: the next request leaves from inside event().
            cmds.event(closeTorrent(f.torrentid))
            if (replies === total) queueMicrotask(finish)
            else if (asked < total) cmds.event(createNewTorrent(`h${asked++}`))
          }),
          scheduler
        )
      )
    }
    t0 = clock()
    for (const cmds of sources) if (asked < total) cmds.event(createNewTorrent(`h${asked++}`))
  })

const PATRON_COUNTS = [1, 100, 10_000] as const
/** The fixed torrent set of the headline measure: every patron count shares it. */
const FIXED_TORRENTS = 10_000

/** Run the routing bench; prints nothing. */
export const runRoutingBench = async (opts: RoutingBenchOptions = {}): Promise<RoutingBenchResult> => {
  const runs = Math.max(1, opts.runs ?? 3)
  const updates = opts.quick ? 200_000 : 2_000_000
  const trips = opts.quick ? 50_000 : 500_000
  const concurrentPatrons = 1000
  const scheduler = newDefaultScheduler()
  const clock = opts.cpuTime === true ? cpuClock : wallClock
  const fixtures = new Map<string, Fixture>()
  const fixtureOf = (patrons: number, torrents: number): Fixture => {
    const key = `${patrons}/${torrents}`
    let f = fixtures.get(key)
    if (f === undefined) fixtures.set(key, (f = fixture(patrons, torrents)))
    return f
  }
  measureUpdates(fixture(100, FIXED_TORRENTS), updates, scheduler, clock) // JIT warm-up of the whole path, not reported
  // Runs interleaved over the patron counts, so a burst of load from the
  // other processes on the machine does not land on one count only.
  const medians = (counts: readonly number[], measure: (n: number) => number): Record<number, number> => {
    const xs: Record<number, number[]> = {}
    for (let r = 0; r < runs; r++) for (const n of counts) (xs[n] ??= []).push(measure(n))
    return Object.fromEntries(counts.map((n) => [n, median(xs[n]!)]))
  }
  const updatesPerSecond = medians(PATRON_COUNTS, (n) => measureUpdates(fixtureOf(n, FIXED_TORRENTS), updates, scheduler, clock))
  const oneTorrentEachPerSecond = medians(PATRON_COUNTS, (n) => measureUpdates(fixtureOf(n, n), updates, scheduler, clock))
  const bareDispatchPerSecond = medians([1, 10_000], (n) => measureBareDispatch(fixtureOf(n, n), updates, scheduler, clock))
  const bareFixedPerSecond = medians([1, 10_000], (n) => measureBareDispatch(fixtureOf(n, FIXED_TORRENTS), updates, scheduler, clock))
  const rts: number[] = []
  for (let r = 0; r < runs; r++) rts.push(await measureRoundTrips(concurrentPatrons, trips, scheduler, clock))
  const roundTripsPerSecond = median(rts)

  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US')
  const ratioOf = (xs: Readonly<Record<number, number>>): number => xs[10_000]! / xs[1]!
  const routed = ratioOf(updatesPerSecond)
  const oneEach = ratioOf(oneTorrentEachPerSecond)
  const bare = ratioOf(bareDispatchPerSecond)
  const bareFixed = ratioOf(bareFixedPerSecond)
  const met = routed >= 0.9 && updatesPerSecond[10_000]! >= 1_000_000
  const metOneEach = oneEach >= bare
  const metTrips = roundTripsPerSecond >= 100_000
  const verdict = (ok: boolean): string => (ok ? 'met' : 'not met')
  const summary =
    `10,000 patrons ${fmt(updatesPerSecond[10_000]!)} updates/s over ${fmt(FIXED_TORRENTS)} torrents, ` +
    `${routed.toFixed(2)}x the 1-patron figure (bare dispatch ${bareFixed.toFixed(2)}x; one torrent each ` +
    `${oneEach.toFixed(2)}x, bare dispatch ${bare.toFixed(2)}x); ${fmt(roundTripsPerSecond)} round trips/s`
  const row = (label: string, xs: Readonly<Record<number, number>>, n: number, torrents: number): string =>
    `| ${label} | ${fmt(n)} | ${fmt(torrents)} | ${fmt(xs[n]!)} | ${(xs[n]! / xs[1]!).toFixed(2)}x |`
  const markdown = [
    '## Routing',
    '',
    'Status updates routed per second through one `torrentService` over the in-memory engine model (no network, no ' +
      `disk), the updates going round-robin over all torrents, as an engine's status tick does; ${fmt(updates)} ` +
      `updates per run, median of ${runs} runs (interleaved over the patron counts), one process. Each patron's sink ` +
      "is one small class instance (as @most's own sinks are) counting what it gets: a sink built from closures " +
      'visits more cold objects per patron, which at 10,000 patrons costs as much as the service itself.',
    '',
    'Two tables, because the question "does routing slow down with more patrons?" needs the number of torrents held ' +
      `still. The first (the headline target) routes over the same ${fmt(FIXED_TORRENTS)} torrents every time, owned ` +
      `by 1 patron (all of them), 100 patrons (${fmt(FIXED_TORRENTS / 100)} each) or 10,000 patrons (one each): only ` +
      'the patron count changes. The second gives each patron one torrent, so 1 patron is 1 torrent and 10,000 ' +
      'patrons are 10,000 torrents: its ratio mostly measures the cache misses of visiting 10,000 torrents\' ' +
      'objects in turn instead of one, as its "bare dispatch" rows show: the same update objects and the same ' +
      'sinks, routed by one Map lookup and a call with no service, lose as much. It is kept so nothing is hidden. ' +
      "Each configuration's sinks and updates are built once, in a row, and given to both the service and bare " +
      'dispatch, so neither side gets a more compact memory layout.',
    '',
    `Measured ${stamp()} on ${machineLine()}; timed by ${clock === cpuClock ? "the process's CPU time (user + system)" : 'the wall clock'}.`,
    '',
    `Same ${fmt(FIXED_TORRENTS)} torrents, more patrons (the headline target), with the bare-dispatch floor:`,
    '',
    '| measure | patrons | torrents | per second | vs 1 patron |',
    '|---|---:|---:|---:|---:|',
    ...PATRON_COUNTS.map((n) => row('status updates routed', updatesPerSecond, n, FIXED_TORRENTS)),
    ...[1, 10_000].map((n) => row('bare dispatch (reference)', bareFixedPerSecond, n, FIXED_TORRENTS)),
    '',
    'One torrent per patron (torrents grow with patrons), with the bare-dispatch floor:',
    '',
    '| measure | patrons | torrents | per second | vs 1 patron |',
    '|---|---:|---:|---:|---:|',
    ...PATRON_COUNTS.map((n) => row('status updates routed', oneTorrentEachPerSecond, n, n)),
    ...[1, 10_000].map((n) => row('bare dispatch (reference)', bareDispatchPerSecond, n, n)),
    '',
    `Create -> reply round trips with ${fmt(concurrentPatrons)} concurrent patrons: ${fmt(roundTripsPerSecond)} per second.`,
    '',
    `- Over the same ${fmt(FIXED_TORRENTS)} torrents, 10,000 patrons at least 0.9x the 1-patron figure ` +
      `(${routed.toFixed(2)}x; bare dispatch ${bareFixed.toFixed(2)}x) and at least 1,000,000 updates/s ` +
      `(${fmt(updatesPerSecond[10_000]!)}): ${verdict(met)}.`,
    `- One torrent per patron, at least the bare-dispatch ratio (${oneEach.toFixed(2)}x against ` +
      `${bare.toFixed(2)}x): ${verdict(metOneEach)}.`,
    `- At least 100,000 create round trips per second with ${fmt(concurrentPatrons)} patrons ` +
      `(${fmt(roundTripsPerSecond)}): ${verdict(metTrips)}.`,
    '',
    `Reproduce: \`npm run bench:routing${opts.quick || opts.cpuTime === true ? ' --' : ''}${opts.quick ? ' --quick' : ''}${opts.cpuTime === true ? ' --cpu-time' : ''}\``
  ].join('\n')
  return {
    fixedTorrents: FIXED_TORRENTS,
    updatesPerSecond,
    oneTorrentEachPerSecond,
    roundTripsPerSecond,
    concurrentPatrons,
    bareDispatchPerSecond,
    bareFixedPerSecond,
    summary,
    markdown
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2)
  const opts = parseBenchArgs(args.filter((a) => a !== '--cpu-time'))
  const result = await runRoutingBench({ ...opts, cpuTime: args.includes('--cpu-time') })
  console.log(result.markdown)
  console.log(`[bench] result routing: ${result.summary}`)
  if (opts.docs) updateSection('routing', result.markdown)
}
