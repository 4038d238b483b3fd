/**
 * Property tests of the service across engine sessions. The last patron's
 * leaving stops the engine; while the engine is being disposed, code runs
 * that connects patrons, creates torrents, ends commands and leaves, in a
 * random order; afterwards more patrons come and go. fast-check's scheduler
 * picks when each engine reply arrives relative to every step (or the engine
 * replies synchronously, from inside the command).
 *
 * The laws: a present patron gets exactly one reply per creation, the one the
 * engine chose for that request (FIFO matching holds in every session); no
 * torrent runs without a present owner once its reply is out; a shutdown that
 * ends with nobody left leaves no routing state behind; after everyone leaves
 * the service is empty and idle.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { torrentService, type TorrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import { closeTorrent, createNewTorrent, type Command, type Feedback, type TorrentId } from '../../lib/messages.ts'
import { EngineModel } from '../support/engine-model.ts'
import { collect, PushSource, type Collected } from '../support/most.ts'

type Prop = 'replies' | 'orphans' | 'residue' | 'cleanup'

/** One patron as the test sees it: what it sent and what it got. */
class PatronView {
  readonly cmds = new PushSource<Command>()
  readonly tags: string[] = []
  readonly owned = new Set<TorrentId>()
  replies = 0
  left = false
  commandsEnded = false
  out: Collected<Feedback> | undefined
  constructor(readonly index: number) {}
  get present(): boolean {
    return this.out !== undefined && !this.left && !this.out.ended && this.out.error === undefined
  }
}

/** What a step may do; the same verbs run outside and inside a shutdown. */
type Action =
  | { readonly verb: 'join' }
  | { readonly verb: 'create'; readonly who: number; readonly hash: string }
  | { readonly verb: 'closeOwn'; readonly who: number }
  | { readonly verb: 'endCommands'; readonly who: number }
  | { readonly verb: 'leave'; readonly who: number }
  | { readonly verb: 'leaveAll'; readonly during: readonly Action[] }

const show = (a: Action): string => {
  switch (a.verb) {
    case 'join':
      return 'join'
    case 'create':
      return `create(#${a.who}, ${a.hash})`
    case 'leaveAll':
      return `leaveAll{${a.during.map(show).join('; ')}}`
    default:
      return `${a.verb}(#${a.who})`
  }
}

class World {
  readonly violations: { prop: Prop; msg: string }[] = []
  readonly model: EngineModel
  readonly service: TorrentService
  readonly patrons: PatronView[] = []
  readonly closedAtEngine = new Set<TorrentId>()
  /** Step lists to run inside the coming shutdowns, first one first. */
  private readonly duringShutdown: (readonly Action[])[] = []
  private disposing = 0

  constructor(s: fc.Scheduler, syncEngine: boolean) {
    this.model = new EngineModel({
      ...(syncEngine ? {} : { delay: (label: string) => s.schedule(Promise.resolve(label), label) }),
      onClose: (id) => this.closedAtEngine.add(id),
      onDispose: () => this.onDispose()
    })
    this.service = torrentService(this.model.engine)
  }

  fail(prop: Prop, msg: string): void {
    this.violations.push({ prop, msg })
  }

  present(): PatronView[] {
    return this.patrons.filter((p) => p.present)
  }

  /** The `who`-th present patron, counted modulo their number. */
  pick(who: number): PatronView | undefined {
    const ps = this.present()
    return ps.length === 0 ? undefined : ps[who % ps.length]
  }

  act(a: Action): void {
    switch (a.verb) {
      case 'join':
        return this.join()
      case 'create': {
        const p = this.pick(a.who)
        if (p === undefined || p.commandsEnded) return
        const tag = `${a.hash}#p${p.index}#${p.tags.length}`
        p.tags.push(tag)
        p.cmds.event(createNewTorrent(tag))
        return
      }
      case 'closeOwn': {
        const p = this.pick(a.who)
        const t = p === undefined ? undefined : [...p.owned][0]
        if (p === undefined || t === undefined || p.commandsEnded) return
        p.owned.delete(t)
        p.cmds.event(closeTorrent(t))
        return
      }
      case 'endCommands': {
        const p = this.pick(a.who)
        if (p === undefined || p.commandsEnded) return
        p.commandsEnded = true
        p.cmds.end()
        return
      }
      case 'leave': {
        const p = this.pick(a.who)
        if (p !== undefined) this.leave(p)
        return
      }
      case 'leaveAll': {
        this.duringShutdown.push(a.during)
        for (const p of this.present()) this.leave(p)
        // A shutdown whose step list was not used (no engine ran) must not
        // run it later, inside some other shutdown.
        this.duringShutdown.length = 0
        this.afterShutdown()
        return
      }
    }
  }

  private join(): void {
    const p = new PatronView(this.patrons.length)
    this.patrons.push(p)
    p.out = collect(torrentPatron(this.service, p.cmds))
    const events = p.out.events
    const push = events.push.bind(events)
    events.push = (...fs: Feedback[]) => {
      for (const f of fs) this.received(p, f)
      return push(...fs)
    }
  }

  private leave(p: PatronView): void {
    if (p.left || p.out === undefined) return
    p.left = true
    p.owned.clear()
    p.out.dispose()
  }

  private onDispose(): void {
    const during = this.duringShutdown.shift()
    if (during === undefined) return
    this.disposing++
    try {
      for (const a of during) this.act(a)
    } finally {
      this.disposing--
    }
  }

  /** Once a shutdown is over and nobody came back, nothing of that session may linger. */
  private afterShutdown(): void {
    const s = this.service.inspect()
    if (s.patrons === 0 && (s.pending !== 0 || s.closing !== 0 || s.torrents !== 0))
      this.fail('residue', `no patron left, yet routing state remains: ${JSON.stringify(s)}`)
  }

  private received(p: PatronView, f: Feedback): void {
    if (f.type !== 'NewTorrentCreated' && f.type !== 'TorrentStartFail' && f.type !== 'TorrentAlreadyDownloading') return
    const who = `p${p.index}`
    const tag = p.tags[p.replies++]
    if (tag === undefined) {
      this.fail('replies', `${who} got a ${f.type} it never asked for`)
      return
    }
    const want = this.model.replyFor.get(tag)
    let ok = JSON.stringify(want) === JSON.stringify(f)
    if (want?.type === 'TorrentAlreadyDownloading' && this.closedAtEngine.has(want.torrentid))
      ok = ok || f.type === 'TorrentStartFail' // its torrent was closed before the reply
    if (!ok) this.fail('replies', `${who} reply #${p.replies} to ${tag}: got ${JSON.stringify(f)}, engine said ${JSON.stringify(want)}`)
    else if (f.type !== 'TorrentStartFail') p.owned.add(f.torrentid)
  }

  noOrphans(when: string): void {
    const unanswered = this.model.unrepliedIds()
    const owned = new Set<TorrentId>()
    for (const p of this.present()) for (const t of p.owned) owned.add(t)
    for (const t of this.model.running.keys())
      if (!owned.has(t) && !unanswered.has(t)) this.fail('orphans', `after ${when}: ${t} runs with no present owner`)
  }

  settled(): void {
    for (const p of this.present())
      if (p.replies !== p.tags.length) this.fail('replies', `p${p.index} sent ${p.tags.length} creations, got ${p.replies} replies`)
  }

  everyoneLeaves(): void {
    for (const p of this.patrons) this.leave(p)
    const s = this.service.inspect()
    if (s.patrons + s.pending + s.torrents + s.closing + s.sinks + s.queuedEffects !== 0 || s.state !== 'idle')
      this.fail('cleanup', `service state after everyone left: ${JSON.stringify(s)}`)
    if (this.model.running.size > 0) this.fail('cleanup', `torrents still running: ${[...this.model.running.keys()]}`)
    if (this.model.liveRuns > 0) this.fail('cleanup', 'engine not disposed')
  }
}

const whoArb = fc.nat({ max: 3 })
const hashArb = fc.constantFrom('a', 'b', 'bad')
/** What may happen inside a shutdown (no nested leaveAll: the service is already stopping). */
const innerArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Action>({ verb: 'join' }) },
  { weight: 4, arbitrary: fc.record({ verb: fc.constant('create' as const), who: whoArb, hash: hashArb }) },
  { weight: 1, arbitrary: fc.record({ verb: fc.constant('closeOwn' as const), who: whoArb }) },
  { weight: 1, arbitrary: fc.record({ verb: fc.constant('endCommands' as const), who: whoArb }) },
  { weight: 3, arbitrary: fc.record({ verb: fc.constant('leave' as const), who: whoArb }) }
)
const outerArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: innerArb },
  {
    weight: 2,
    arbitrary: fc.record({ verb: fc.constant('leaveAll' as const), during: fc.array(innerArb, { maxLength: 8 }) })
  }
)
const scenarioArb = fc.record({
  engine: fc.constantFrom('delayed' as const, 'delayed' as const, 'synchronous' as const),
  steps: fc.array(outerArb, { minLength: 1, maxLength: 24, size: 'max' })
})

const runScenario = async (s: fc.Scheduler, engine: 'delayed' | 'synchronous', steps: readonly Action[]): Promise<World> => {
  const w = new World(s, engine === 'synchronous')
  const driver = (async () => {
    for (const a of steps) {
      await s.schedule(Promise.resolve(show(a)), show(a))
      w.act(a)
      w.noOrphans(show(a))
    }
  })()
  await s.waitFor(driver)
  await s.waitAll()
  w.noOrphans('all replies')
  w.settled()
  w.everyoneLeaves()
  await s.waitAll()
  return w
}

const property = (prop: Prop, title: string): void => {
  test(title, { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenarioArb, async (s, { engine, steps }) => {
        const w = await runScenario(s, engine, steps)
        assert.deepEqual(
          w.violations.filter((v) => v.prop === prop).map((v) => v.msg),
          [],
          `${engine} engine, steps: ${steps.map(show).join(', ')}`
        )
      }),
      { numRuns: 1000 }
    )
  })
}

property('replies', 'patrons that come and go inside a shutdown leave the next session FIFO-aligned: every present patron gets its own replies')
property('orphans', 'no torrent runs without a present owner across sessions')
property('residue', 'a shutdown that ends with nobody left leaves no pending entry, close or owner behind')
property('cleanup', 'after everyone leaves: no service state, no torrent running, engine disposed')
