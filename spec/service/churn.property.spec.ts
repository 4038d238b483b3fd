/**
 * Churn: the service's routing invariants, with the REAL engine on
 * loopback. One engine instance seeds four small torrents; a shared service
 * runs a leecher engine; fast-check generates sequences of patrons joining,
 * creating (the same torrent twice gives TorrentAlreadyDownloading: a
 * co-owner), closing their own and others' torrents, ending their commands,
 * leaving, and pausing for random lengths of time while downloads run.
 *
 * The interleaving comes from fast-check's scheduler (`fc.scheduler()`): each
 * step is a scheduled task, and every feedback of the engine (creation
 * replies, status updates) is held and handed to the service only when the
 * scheduler releases it (spec/support/scheduled-engine.ts, in the engine's
 * order). So a reply can reach the service before or after a close, a leave or
 * another creation that the engine saw later, as the scheduler picks; a
 * failure shrinks to a step list plus an ordering, and fast-check prints both
 * (the scheduler's report, task by task). The engine and the seeder still do
 * real I/O on loopback: waits let real time pass while feedback piles up.
 *
 * A spy around the engine sees every command that reaches it and every
 * feedback it emits. Checked, as they happen or at the end of each run:
 * - replies: one per creation, in order, naming the torrent that was asked
 *   for (by info hash); a StartFail only for the documented close race;
 * - leaks: nothing reaches a patron about a torrent it does not own, nor after
 *   it left; refusals only for what it sent;
 * - lossless: every status update the engine emits reaches every present
 *   owner, once;
 * - close: a CloseTorrent reaches the engine only when no present patron owns
 *   the torrent, once; a non-owner's close is refused;
 * - orphans: after every step and every engine message, each torrent running
 *   in the engine has a present owner; and a closed torrent says nothing more
 *   while open ones keep reporting;
 * - cleanup: after everyone leaves, the service holds nothing, the engine run
 *   was disposed, and the process's sockets, files, pipes, worker threads and
 *   libuv handles are back to the baseline taken before the engine started.
 *
 * CHURN_RUNS sets the number of runs (default 25; `npm run soak` should use
 * more, e.g. 200), CHURN_SEED replays a seed, CHURN_PATH a shrunk path.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import fc from 'fast-check'
import { torrentClient } from '../../lib/engine/index.ts'
import { torrentService, type TorrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import {
  closeTorrent,
  createNewTorrent,
  isCloseTorrent,
  isCreateNewTorrent,
  isCreationReply,
  isNewTorrentCreated,
  isTorrentStatusUpdate,
  type Command,
  type EngineFeedback,
  type Feedback,
  type TorrentId
} from '../../lib/messages.ts'
import { collect, PushSource, type Collected } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { pollUntil, sleep } from '../support/peers/wait.ts'
import { spyEngine, startSwarm, type Swarm } from '../support/loopback-swarm.ts'
import { scheduleFeedback } from '../support/scheduled-engine.ts'
import { resources, settleTo, type Resources } from '../support/resources.ts'

const RUNS = Number(process.env.CHURN_RUNS ?? 25)
const STATUS_MS = 100

type Prop = 'replies' | 'leaks' | 'lossless' | 'close' | 'orphans' | 'cleanup'

/** The test's view of one patron, built from what it sent and received. */
class PatronView {
  readonly cmds = new PushSource<Command>()
  readonly out: Collected<Feedback>
  left = false
  commandsEnded = false
  /** Torrent index asked for by each creation, in order. */
  readonly asked: number[] = []
  replies = 0
  readonly owned = new Set<TorrentId>()
  refusalsExpected = 0
  refusals = 0
  constructor (readonly index: number, world: World) {
    this.out = collect(torrentPatron(world.service, this.cmds))
    const events = this.out.events
    const push = events.push.bind(events)
    events.push = (...fs: Feedback[]) => {
      for (const f of fs) world.received(this, f)
      return push(...fs)
    }
  }

  get present (): boolean {
    return !this.left && !this.out.ended && this.out.error === undefined
  }
}

class World {
  readonly violations: { prop: Prop; msg: string }[] = []
  readonly service: TorrentService
  readonly patrons = new Map<number, PatronView>()
  /** Torrents running in the engine: created and not yet closed there. */
  readonly running = new Set<TorrentId>()
  readonly closedAtEngine = new Set<TorrentId>()
  readonly hashOf = new Map<TorrentId, string>()
  readonly updatesAtEngine = new Map<TorrentId, number>()
  createsAtEngine = 0
  repliesAtEngine = 0
  engineDisposed = 0
  private expecting: Array<{ p: PatronView; count: number }> = []

  constructor (readonly swarm: Swarm, readonly folder: string, s: fc.Scheduler) {
    const engine = torrentClient({ host: '127.0.0.1', statusInterval: STATUS_MS, peers: [swarm.peer] })
    const held = scheduleFeedback(engine, s, (e) => this.fail('leaks', `the service threw on engine feedback: ${String(e)}`))
    this.service = torrentService(spyEngine(held, {
      command: (c) => {
        if (isCreateNewTorrent(c)) this.createsAtEngine++
        else if (isCloseTorrent(c)) this.engineClose(c.torrentid)
      },
      before: (fb) => this.before(fb),
      after: (fb) => this.after(fb),
      disposed: () => {
        // The last patron left: the run stops with everything in it (a new patron starts a fresh one).
        this.engineDisposed++
        this.running.clear()
        this.createsAtEngine = this.repliesAtEngine = 0
      }
    }))
  }

  fail (prop: Prop, msg: string): void {
    this.violations.push({ prop, msg })
  }

  view (i: number): PatronView | undefined {
    let p = this.patrons.get(i)
    if (p === undefined) {
      p = new PatronView(i, this)
      this.patrons.set(i, p)
    }
    return p.present ? p : undefined
  }

  owners (id: TorrentId): PatronView[] {
    return [...this.patrons.values()].filter((p) => p.present && p.owned.has(id))
  }

  // --- what the engine sees and says --------------------------------------

  private engineClose (id: TorrentId): void {
    if (!this.hashOf.has(id)) this.fail('close', `CloseTorrent(${id}) of an id the engine never gave reached the engine`)
    if (this.closedAtEngine.has(id)) this.fail('close', `CloseTorrent(${id}) reached the engine twice`)
    const owners = this.owners(id).map((p) => `p${p.index}`)
    if (owners.length > 0) this.fail('close', `CloseTorrent(${id}) reached the engine while ${owners} own it`)
    this.closedAtEngine.add(id)
    this.running.delete(id)
  }

  private before (fb: EngineFeedback): void {
    if (isCreationReply(fb)) {
      this.repliesAtEngine++
      if (isNewTorrentCreated(fb)) {
        this.hashOf.set(fb.torrentid, fb.infohash ?? '?')
        this.running.add(fb.torrentid)
      }
    } else if (isTorrentStatusUpdate(fb)) {
      // The update a torrent sends once its close completed ("shut down") may come late: not counted.
      if (fb.statsdictionary.activity !== 'shut down') this.updatesAtEngine.set(fb.torrentid, (this.updatesAtEngine.get(fb.torrentid) ?? 0) + 1)
      this.expecting = this.owners(fb.torrentid).map((p) => ({ p, count: p.out.events.length }))
    }
  }

  private after (fb: EngineFeedback): void {
    if (isTorrentStatusUpdate(fb)) {
      for (const { p, count } of this.expecting) {
        if (!p.present) continue
        const got = p.out.events.slice(count)
        if (got.length !== 1 || got[0] !== fb) this.fail('lossless', `p${p.index} owns ${fb.torrentid}: an update reached it ${got.length} times`)
      }
      this.expecting = []
    }
    this.noOrphans(`engine said ${fb.type}`)
  }

  /** Every torrent running in the engine has a present owner, once its reply is out. */
  noOrphans (when: string): void {
    for (const id of this.running) {
      if (this.owners(id).length === 0) this.fail('orphans', `after ${when}: ${id} runs in the engine with no present owner`)
    }
  }

  // --- what a patron receives ---------------------------------------------

  received (p: PatronView, f: Feedback): void {
    const who = `p${p.index}`
    if (!p.present) this.fail('leaks', `${who} got ${f.type} after it left or ended`)
    switch (f.type) {
      case 'NewTorrentCreated':
      case 'TorrentAlreadyDownloading':
      case 'TorrentStartFail': {
        const asked = p.asked[p.replies++]
        if (asked === undefined) return this.fail('leaks', `${who} got a ${f.type} it never asked for`)
        if (f.type === 'TorrentStartFail') {
          // The one documented race (docs/design.md): AlreadyDownloading of a torrent its last owner closed meanwhile.
          if (!/closed by its last owner/.test(f.reason)) this.fail('replies', `${who} reply #${p.replies} (torrent ${asked}): unexpected TorrentStartFail: ${f.reason}`)
          return
        }
        const want = this.swarm.torrents[asked]!.infoHash
        if (this.hashOf.get(f.torrentid) !== want) this.fail('replies', `${who} reply #${p.replies}: ${f.type}(${f.torrentid}) is not torrent ${asked}`)
        if (this.closedAtEngine.has(f.torrentid)) this.fail('replies', `${who} was given ${f.torrentid}, already closed in the engine`)
        p.owned.add(f.torrentid)
        return
      }
      case 'TorrentStatusUpdate':
        if (!p.owned.has(f.torrentid)) this.fail('leaks', `${who} got an update of ${f.torrentid}, which it does not own`)
        return
      case 'TorrentCommandRefused':
        if (++p.refusals > p.refusalsExpected) this.fail('leaks', `${who} got a refusal for nothing it sent: ${f.reason}`)
    }
  }

  // --- steps ----------------------------------------------------------------

  create (i: number, torrent: number): void {
    const p = this.view(i)
    if (p === undefined || p.commandsEnded) return
    p.asked.push(torrent)
    p.cmds.event(createNewTorrent(this.swarm.torrents[torrent]!.bytes, { savefolder: this.folder }))
  }

  close (p: PatronView, id: TorrentId): void {
    const mine = p.owned.delete(id) // before sending: the engine hears of it synchronously
    if (!mine) p.refusalsExpected++
    const before = p.refusals
    p.cmds.event(closeTorrent(id))
    if (!mine && p.refusals !== before + 1) this.fail('close', `p${p.index}'s close of ${id}, not its own, was not refused`)
    if (mine && p.refusals !== before) this.fail('close', `p${p.index}'s close of its own ${id} was refused`)
  }

  closeOwn (i: number, k: number): void {
    const p = this.view(i)
    if (p === undefined || p.commandsEnded) return
    const own = [...p.owned]
    if (own.length > 0) this.close(p, own[k % own.length]!)
  }

  closeForeign (i: number, j: number, k: number): void {
    const p = this.view(i)
    if (p === undefined || p.commandsEnded) return
    const q = this.patrons.get(j)
    const theirs = q === undefined ? [] : [...q.owned].filter((t) => !p.owned.has(t))
    this.close(p, theirs.length > 0 ? theirs[k % theirs.length]! : randomBytes(12).toString('hex'))
  }

  endCommands (i: number): void {
    const p = this.view(i)
    if (p === undefined || p.commandsEnded) return
    p.commandsEnded = true
    p.cmds.end()
  }

  leave (i: number): void {
    const p = this.patrons.get(i)
    if (p === undefined || p.left) return
    p.left = true
    p.owned.clear()
    p.out.dispose()
  }

  // --- end of a run -----------------------------------------------------------

  /** Wait until the engine answered every creation it got, then check the replies and liveness. */
  async settle (): Promise<void> {
    try {
      await pollUntil(() => this.repliesAtEngine === this.createsAtEngine, { timeoutMs: 15_000, intervalMs: 20, what: 'every creation answered' })
    } catch (e) {
      this.fail('replies', `engine answered ${this.repliesAtEngine} of ${this.createsAtEngine} creations: ${String(e)}`)
    }
    for (const p of this.patrons.values()) {
      if (p.out.late > 0) this.fail('leaks', `p${p.index} got ${p.out.late} events after it left`)
      if (!p.present) continue
      if (p.replies !== p.asked.length) this.fail('replies', `p${p.index} sent ${p.asked.length} creations, got ${p.replies} replies`)
      if (p.refusals !== p.refusalsExpected) this.fail('leaks', `p${p.index} expected ${p.refusalsExpected} refusals, got ${p.refusals}`)
    }
    this.noOrphans('all replies')
    // Closed torrents fall silent; open ones keep reporting (every creation is answered by
    // now, so every close sent has been carried out by the engine's chain).
    await sleep(3 * STATUS_MS)
    const counts = new Map(this.updatesAtEngine)
    const open = [...this.running]
    try {
      await pollUntil(() => open.every((id) => !this.running.has(id) || (this.updatesAtEngine.get(id) ?? 0) > (counts.get(id) ?? 0)),
        { timeoutMs: 5000, intervalMs: 20, what: 'an update from every open torrent' })
    } catch {
      const silent = open.filter((id) => this.running.has(id) && (this.updatesAtEngine.get(id) ?? 0) === (counts.get(id) ?? 0))
      this.fail('lossless', `${silent} run but sent no update in 5 s`)
    }
    await sleep(5 * STATUS_MS)
    for (const id of this.closedAtEngine) {
      const n = (this.updatesAtEngine.get(id) ?? 0) - (counts.get(id) ?? 0)
      if (n > 0) this.fail('orphans', `${id} was closed but the engine still sent ${n} updates`)
    }
  }

  async everyoneLeaves (base: Resources): Promise<void> {
    for (const p of this.patrons.values()) this.leave(p.index)
    const s = this.service.inspect()
    if (s.patrons + s.pending + s.torrents + s.closing + s.sinks + s.queuedEffects !== 0 || s.state !== 'idle') this.fail('cleanup', `service state after everyone left: ${JSON.stringify(s)}`)
    if (this.engineDisposed !== s.engineRuns) this.fail('cleanup', `${s.engineRuns} engine runs, ${this.engineDisposed} disposed`)
    const left = await settleTo(base, 8000)
    if (left.length > 0) this.fail('cleanup', `left open after the service ended: ${left.join('; ')}`)
  }
}

/** One step of a run, printable for shrunk counterexamples. */
class Step implements fc.AsyncCommand<object, World> {
  constructor (private readonly label: string, private readonly act: (w: World) => void | Promise<void>) {}
  check (): boolean { return true }
  async run (_m: object, w: World): Promise<void> {
    await this.act(w)
    w.noOrphans(this.label)
  }

  toString (): string { return this.label }
}

const patronArb = fc.nat({ max: 3 })
// Mostly the two small torrents, so that patrons often ask for the same one (co-owners, close races).
const torrentArb = fc.oneof({ arbitrary: fc.nat({ max: 1 }), weight: 3 }, { arbitrary: fc.nat({ max: 3 }), weight: 1 })
const stepArbs = [
  fc.tuple(patronArb, torrentArb).map(([p, t]) => new Step(`p${p}.create(${t})`, (w) => w.create(p, t))),
  fc.tuple(patronArb, torrentArb).map(([p, t]) => new Step(`p${p}.create(${t})`, (w) => w.create(p, t))),
  fc.tuple(patronArb, fc.nat(3)).map(([p, k]) => new Step(`p${p}.closeOwn(${k})`, (w) => w.closeOwn(p, k))),
  fc.tuple(patronArb, patronArb, fc.nat(3)).map(([p, q, k]) => new Step(`p${p}.closeForeign(p${q}, ${k})`, (w) => w.closeForeign(p, q, k))),
  patronArb.map((p) => new Step(`p${p}.endCommands()`, (w) => w.endCommands(p))),
  patronArb.map((p) => new Step(`p${p}.leave()`, (w) => w.leave(p))),
  fc.constantFrom(0, 5, 30, 120, 400).map((ms) => new Step(`wait(${ms})`, () => sleep(ms)))
]

/** The scheduler's released tasks in order, status updates folded (they are many), for failure messages. */
function ordering (s: fc.Scheduler): string {
  const lines: string[] = []
  for (const r of s.report()) {
    if (r.status === 'pending') continue
    const line = r.label.replace(/^run@/, '')
    if (line.startsWith('check@')) continue
    const last = lines.at(-1)
    if (line.includes('TorrentStatusUpdate') && last?.startsWith('engine: TorrentStatusUpdate')) {
      lines[lines.length - 1] = last.replace(/( x(\d+))?$/, (_m, _a, n: string | undefined) => ` x${Number(n ?? 1) + 1}`)
    } else lines.push(line)
  }
  return lines.map((l) => `  ${l}`).join('\n')
}

test(`churn with the real engine on loopback: routing invariants, no orphans, nothing left open (${RUNS} runs)`, { timeout: Math.max(120_000, RUNS * 15_000) }, async (t) => {
  const tmp = await makeTempDir('churn-')
  t.after(() => tmp.close())
  const swarm = await startSwarm({
    dir: join(tmp.path, 'seed'),
    sizes: [256 << 10, 640 << 10, 1 << 20, 2 << 20],
    // Slow enough that downloads are still running when patrons close and leave.
    seeder: { uploadRateLimit: 4 << 20 }
  })
  t.after(() => swarm.close())
  const base = resources()
  let run = 0
  const params: fc.Parameters<[fc.Scheduler, Iterable<fc.AsyncCommand<object, World>>]> = {
    numRuns: RUNS,
    ...(process.env.CHURN_SEED !== undefined ? { seed: Number(process.env.CHURN_SEED) } : {}),
    ...(process.env.CHURN_PATH !== undefined ? { path: process.env.CHURN_PATH } : {})
  }
  await fc.assert(
    fc.asyncProperty(fc.scheduler(), fc.commands(stepArbs, { maxCommands: 30, size: 'max' }), async (s, steps) => {
      const w = new World(swarm, join(tmp.path, `dl-${run++}`), s)
      try {
        // Steps and engine feedback interleave as the scheduler picks; settling keeps releasing feedback.
        await fc.scheduledModelRun(s, () => ({ model: {}, real: w }), steps)
        await s.waitFor(w.settle())
      } finally {
        await s.waitFor(w.everyoneLeaves(base))
      }
      assert.deepEqual(w.violations, [], `violations after [${[...steps].join(', ')}]:\n${w.violations.map((v) => `${v.prop}: ${v.msg}`).join('\n')}\nordering:\n${ordering(s)}`)
    }),
    params
  ).catch((e: unknown) => {
    // fast-check keeps the last failure as the cause: show its message (the violations) too.
    const cause = e instanceof Error && e.cause instanceof Error ? `\n${e.cause.message}` : ''
    throw new Error(`${e instanceof Error ? e.message : String(e)}${cause}`)
  })
})
