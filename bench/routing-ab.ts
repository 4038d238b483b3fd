/**
 * A/B of routing's status-update cases (bench/routing.ts): the service of
 * another checkout (before) and this tree's (after), and bare dispatch, their
 * measurements interleaved round by round in one process so that the load of
 * a shared machine falls on all three alike. Timed by the process's CPU time.
 *
 *   node --import tsx bench/routing-ab.ts --ab DIR [--rounds N] [--updates N]
 *
 * Each side's own lib/service, lib/patron.ts, lib/messages.ts and engine
 * model are loaded from its checkout. Sinks and updates are built in a row
 * before each measurement, as bench/routing.ts's fixtures are. Prints a
 * markdown table: medians per case, and the median of each round's
 * 10,000-patron / 1-patron ratio over the same 10,000 torrents, each with
 * the rounds' spread (lowest-highest) in brackets; and the median of each
 * round's after / before quotient per case, with the rounds it favours.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { Scheduler, Sink, Stream, Disposable } from '@most/types'
import { newDefaultScheduler } from '@most/scheduler'
import { abSides } from './lib/ab.ts'
import { machineLine, stamp } from './lib/report.ts'

/** The little of a checkout's modules this bench uses. */
interface Side {
  readonly torrentService: (engine: unknown) => { readonly state: string }
  readonly PushSource: new () => { event(x: unknown): void } & Stream<unknown>
  readonly torrentPatron: (service: unknown, commands: Stream<unknown>) => Stream<Update>
  readonly createNewTorrent: (raw: string) => unknown
  readonly torrentStatusUpdate: (id: string, stats: unknown) => Update
  readonly emptyStats: unknown
  readonly EngineModel: new (opts: { record: boolean }) => { engine: unknown; runs: { emit(m: unknown): void }[] }
}

interface Update {
  readonly type: string
  readonly torrentid: string
}

const load = async (root: string): Promise<Side> => {
  const from = async (path: string): Promise<Record<string, unknown>> => import(pathToFileURL(join(root, path)).href)
  return {
    ...(await from('lib/service/index.ts')),
    ...(await from('lib/patron.ts')),
    ...(await from('lib/messages.ts')),
    ...(await from('spec/support/engine-model.ts'))
  } as unknown as Side
}

class TallySink implements Sink<Update> {
  constructor(private readonly tally: { delivered: number; ids: string[] }) {}
  event(_t: number, f: Update): void {
    if (f.type === 'TorrentStatusUpdate') this.tally.delivered++
    else if (f.type === 'NewTorrentCreated') this.tally.ids.push(f.torrentid)
  }
  end(): void {}
  error(_t: number, e: Error): void {
    throw e
  }
}

const cpuSeconds = (): number => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1e6
}

/**
 * Updates per CPU second through `side`'s service, or by bare dispatch when
 * `side` is undefined (its updates made by `messages`, this tree's).
 */
const measure = (side: Side | undefined, patrons: number, torrents: number, total: number, scheduler: Scheduler, messages: Side): number => {
  const tally = { delivered: 0, ids: [] as string[] }
  const sinks = Array.from({ length: patrons }, () => new TallySink(tally))
  const each = torrents / patrons
  let emit: (u: Update) => void
  let updates: Update[]
  const lines: Disposable[] = []
  if (side === undefined) {
    const targets = new Map<string, { sink: Sink<Update>; scheduler: Scheduler }[]>()
    updates = Array.from({ length: torrents }, (_, k) => messages.torrentStatusUpdate(`T${k + 1}`, messages.emptyStats))
    updates.forEach((u, k) => targets.set(u.torrentid, [{ sink: sinks[Math.floor(k / each)]!, scheduler }]))
    emit = (u) => {
      const ts = targets.get(u.torrentid)
      if (ts !== undefined) for (const t of ts) t.sink.event(t.scheduler.currentTime(), u)
    }
  } else {
    const model = new side.EngineModel({ record: false })
    const service = side.torrentService(model.engine)
    let hash = 0
    for (let i = 0; i < patrons; i++) {
      const cmds = new side.PushSource()
      lines.push(side.torrentPatron(service, cmds).run(sinks[i]!, scheduler))
      for (let j = 0; j < each; j++) cmds.event(side.createNewTorrent(`h${hash++}`))
    }
    if (tally.ids.length !== torrents) throw new Error(`created ${tally.ids.length} of ${torrents}`)
    updates = tally.ids.map((id) => side.torrentStatusUpdate(id, side.emptyStats))
    const run = model.runs[0]!
    emit = (u) => run.emit(u)
  }
  for (let k = 0; k < 100_000; k++) emit(updates[k % torrents]!)
  tally.delivered = 0
  const t0 = cpuSeconds()
  for (let k = 0; k < total; k++) emit(updates[k % torrents]!)
  const seconds = cpuSeconds() - t0
  if (tally.delivered !== total) throw new Error(`routed ${tally.delivered} of ${total}`)
  for (const l of lines) l.dispose()
  return total / seconds
}

const { values } = parseArgs({ options: { ab: { type: 'string' }, rounds: { type: 'string' }, updates: { type: 'string' } } })
if (values.ab === undefined) {
  console.error('usage: node --import tsx bench/routing-ab.ts --ab DIR [--rounds N] [--updates N]')
  process.exit(2)
}
const rounds = Number(values.rounds ?? 9)
const total = Number(values.updates ?? 2_000_000)
const scheduler = newDefaultScheduler()
const contenders: { name: string; side: Side | undefined }[] = []
for (const s of abSides(values.ab)) contenders.push({ name: s.name, side: await load(s.root) })
const mine = contenders[1]!.side!
contenders.push({ name: 'bare dispatch', side: undefined })
const CASES = [
  ['1 patron, 10,000 torrents', 1, 10_000],
  ['10,000 patrons, 10,000 torrents', 10_000, 10_000],
  ['1 patron, 1 torrent', 1, 1],
  ['10,000 patrons, one each', 10_000, 10_000]
] as const
for (const c of contenders) measure(c.side, 100, 10_000, total, scheduler, mine) // JIT warm-up
const figures = contenders.map(() => CASES.map(() => [] as number[]))
for (let r = 0; r < rounds; r++) {
  CASES.forEach(([, patrons, torrents], i) => contenders.forEach((c, j) => figures[j]![i]!.push(measure(c.side, patrons, torrents, total, scheduler, mine))))
}
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const millions = (x: number): string => `${(x / 1e6).toFixed(2)} M/s`
console.log(`Measured ${stamp()} on ${machineLine()}; CPU time; ${total.toLocaleString('en-US')} updates per measurement, ${rounds} rounds.\n`)
console.log(`| code | ${CASES.map(([name]) => name).join(' | ')} | same torrents, 10,000 / 1 patron |`)
console.log(`|---|${CASES.map(() => '---:|').join('')}---:|`)
contenders.forEach((c, j) => {
  const f = figures[j]!
  const ratios = f[1]!.map((x, r) => x / f[0]![r]!)
  const spread = (xs: readonly number[]): string => `${millions(median(xs))} (${(Math.min(...xs) / 1e6).toFixed(2)}-${(Math.max(...xs) / 1e6).toFixed(2)})`
  console.log(`| ${c.name} | ${f.map(spread).join(' | ')} | ${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}) |`)
})
// The two sides' figures are taken in the same round, one after the other:
// the round-by-round quotient cancels most of the load that changes between rounds.
const paired = CASES.map((_, i) => figures[1]![i]!.map((x, r) => x / figures[0]![i]![r]!))
const quotient = (qs: readonly number[]): string => `${median(qs).toFixed(2)}x (${Math.min(...qs).toFixed(2)}-${Math.max(...qs).toFixed(2)}), faster in ${qs.filter((q) => q > 1).length} of ${qs.length}`
console.log(`| after / before, round by round | ${paired.map(quotient).join(' | ')} | |`)
