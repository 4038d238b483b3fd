/**
 * Property tests of the service's routing. Up to 20 patrons join,
 * create, close (their own torrents and others'), end their commands and
 * leave, in any order; fast-check's scheduler picks when each engine reply
 * arrives relative to every other step. The engine model replies in request
 * order, as the engine contract demands.
 *
 * One scenario runner checks every invariant and files each violation under
 * the property it breaks; each test asserts one property over 1000 runs.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { torrentService, type TorrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import {
  closeTorrent,
  createNewTorrent,
  type Command,
  type Feedback,
  type TorrentId
} from '../../lib/messages.ts'
import { EngineModel } from '../support/engine-model.ts'
import { collect, PushSource, type Collected } from '../support/most.ts'

type Prop = 'replies' | 'leaks' | 'lossless' | 'close' | 'orphans' | 'cleanup' | 'lifetime'

/** The test's view of one patron, built only from what it sent and received. */
class PatronView {
  readonly cmds = new PushSource<Command>()
  out: Collected<Feedback> | undefined
  left = false
  commandsEnded = false
  readonly tags: string[] = []
  replies = 0
  readonly owned = new Set<TorrentId>()
  refusalsExpected = 0
  refusals = 0
  updatesAt = new Map<number, TorrentId[]>()
  constructor(readonly index: number) {}
  get present(): boolean {
    return this.out !== undefined && !this.left && !this.out.ended && this.out.error === undefined
  }
}

class World {
  readonly violations: { prop: Prop; msg: string }[] = []
  readonly model: EngineModel
  readonly service: TorrentService
  readonly patrons = new Map<number, PatronView>()
  readonly closedAtEngine = new Set<TorrentId>()
  private ticks = 0

  constructor(s: fc.Scheduler, syncEngine: boolean) {
    this.model = new EngineModel({
      // A synchronous engine replies from inside the command's event(): re-entrancy.
      ...(syncEngine ? {} : { delay: (label: string) => s.schedule(Promise.resolve(label), label) }),
      onClose: (id) => this.onEngineClose(id)
    })
    this.service = torrentService(this.model.engine)
  }

  fail(prop: Prop, msg: string): void {
    this.violations.push({ prop, msg })
  }

  view(i: number): PatronView | undefined {
    let p = this.patrons.get(i)
    if (p === undefined) {
      p = new PatronView(i)
      this.patrons.set(i, p)
      this.join(p)
    }
    return p.present ? p : undefined
  }

  private join(p: PatronView): void {
    const stream = torrentPatron(this.service, p.cmds)
    p.out = collect(stream)
    // Check every event as it arrives: wrap the collected array's push.
    const events = p.out.events
    const push = events.push.bind(events)
    events.push = (...fs: Feedback[]) => {
      for (const f of fs) this.received(p, f)
      return push(...fs)
    }
  }

  private received(p: PatronView, f: Feedback): void {
    const who = `p${p.index}`
    if (!p.present) this.fail('leaks', `${who} got ${f.type} after it left or ended`)
    switch (f.type) {
      case 'NewTorrentCreated':
      case 'TorrentStartFail':
      case 'TorrentAlreadyDownloading': {
        const tag = p.tags[p.replies++]
        if (tag === undefined) {
          this.fail('leaks', `${who} got a ${f.type} it never asked for`)
          return
        }
        const want = this.model.replyFor.get(tag)
        let ok = JSON.stringify(want) === JSON.stringify(f)
        if (want?.type === 'TorrentAlreadyDownloading' && this.closedAtEngine.has(want.torrentid))
          ok = f.type === 'TorrentStartFail' // its torrent was closed before the reply
        if (!ok) this.fail('replies', `${who} reply #${p.replies} to ${tag}: got ${JSON.stringify(f)}, engine said ${JSON.stringify(want)}`)
        if (ok && f.type !== 'TorrentStartFail') p.owned.add(f.torrentid)
        return
      }
      case 'TorrentStatusUpdate': {
        if (!p.owned.has(f.torrentid)) this.fail('leaks', `${who} got an update of ${f.torrentid}, which it does not own`)
        const n = f.statsdictionary.piecesDone
        const seen = p.updatesAt.get(n) ?? []
        if (seen.includes(f.torrentid)) this.fail('lossless', `${who} got the update of ${f.torrentid} at tick ${n} twice`)
        p.updatesAt.set(n, [...seen, f.torrentid])
        return
      }
      case 'TorrentCommandRefused':
        p.refusals++
        if (p.refusals > p.refusalsExpected) this.fail('leaks', `${who} got a refusal for nothing it sent`)
        return
    }
  }

  private onEngineClose(id: TorrentId): void {
    if (!this.model.hashOf.has(id)) this.fail('close', `CloseTorrent(${id}) of an unknown id reached the engine`)
    if (this.closedAtEngine.has(id)) this.fail('close', `CloseTorrent(${id}) reached the engine twice`)
    this.closedAtEngine.add(id)
    for (const p of this.patrons.values())
      if (p.present && p.owned.has(id)) this.fail('close', `CloseTorrent(${id}) reached the engine while p${p.index} owns it`)
  }

  // --- steps --------------------------------------------------------------

  create(i: number, hash: string): void {
    const p = this.view(i)
    if (p === undefined || p.commandsEnded) return
    const tag = `${hash}#p${i}#${p.tags.length}`
    p.tags.push(tag)
    p.cmds.event(createNewTorrent(tag))
  }

  close(i: number, id: TorrentId): void {
    const p = this.view(i)
    if (p === undefined || p.commandsEnded) return
    const mine = p.owned.delete(id) // before sending: the engine hears of it synchronously
    if (!mine) p.refusalsExpected++
    const before = p.refusals
    p.cmds.event(closeTorrent(id))
    if (!mine && p.refusals !== before + 1) this.fail('close', `p${i}'s close of ${id}, not its own, was not refused`)
    if (mine && p.refusals !== before) this.fail('close', `p${i}'s close of its own ${id} was refused`)
  }

  closeOwn(i: number, k: number): void {
    const p = this.view(i)
    if (p === undefined) return
    const own = [...p.owned]
    if (own.length > 0) this.close(i, own[k % own.length]!)
  }

  closeForeign(i: number, j: number, k: number): void {
    const q = this.patrons.get(j)
    const theirs = q === undefined ? [] : [...q.owned].filter((t) => !this.patrons.get(i)?.owned.has(t))
    this.close(i, theirs.length > 0 ? theirs[k % theirs.length]! : `T${900 + k}`)
  }

  endCommands(i: number): void {
    const p = this.view(i)
    if (p === undefined || p.commandsEnded) return
    p.commandsEnded = true
    p.cmds.end()
  }

  leave(i: number): void {
    const p = this.patrons.get(i) ?? this.view(i)
    if (p === undefined || p.left || p.out === undefined) return
    p.left = true
    p.owned.clear()
    p.out.dispose()
  }

  tick(): void {
    const n = ++this.ticks
    const expect = new Map<PatronView, TorrentId[]>()
    const running = this.model.running
    for (const p of this.patrons.values()) {
      if (!p.present) continue
      expect.set(p, [...p.owned].sort())
      for (const t of p.owned) if (!running.has(t)) this.fail('lossless', `p${p.index} owns ${t} but it no longer runs`)
    }
    this.model.tick(n)
    for (const [p, want] of expect) {
      const got = [...(p.updatesAt.get(n) ?? [])].sort()
      if (p.present && JSON.stringify(got) !== JSON.stringify(want))
        this.fail('lossless', `tick ${n}: p${p.index} got updates of [${got}], owns [${want}]`)
    }
  }

  /** Every running torrent whose creation reply is out has a present owner. */
  noOrphans(when: string): void {
    const unanswered = this.model.unrepliedIds()
    const owned = new Set<TorrentId>()
    for (const p of this.patrons.values()) if (p.present) for (const t of p.owned) owned.add(t)
    for (const t of this.model.running.keys())
      if (!owned.has(t) && !unanswered.has(t)) this.fail('orphans', `after ${when}: ${t} runs with no present owner`)
  }

  // --- final checks -------------------------------------------------------

  settled(): void {
    for (const p of this.patrons.values()) {
      if (p.out !== undefined && p.out.late > 0) this.fail('leaks', `p${p.index} got ${p.out.late} events after it left`)
      if (!p.present) continue
      if (p.replies !== p.tags.length) this.fail('replies', `p${p.index} sent ${p.tags.length} creations, got ${p.replies} replies`)
      if (p.refusals !== p.refusalsExpected) this.fail('leaks', `p${p.index} expected ${p.refusalsExpected} refusals, got ${p.refusals}`)
    }
    for (const p of this.patrons.values()) {
      if (p.out === undefined || p.left || !p.commandsEnded) continue
      const done = p.replies === p.tags.length && p.owned.size === 0
      if (done !== p.out.ended)
        this.fail('lifetime', `p${p.index}: commands ended, ${p.tags.length - p.replies} pending, owns ${p.owned.size}, output ended: ${p.out.ended}`)
    }
  }

  everyoneLeaves(): void {
    for (const p of this.patrons.values()) if (!p.left && p.out !== undefined) this.leave(p.index)
    const s = this.service.inspect()
    if (s.patrons + s.pending + s.torrents + s.closing + s.sinks + s.queuedEffects !== 0 || s.state !== 'idle')
      this.fail('cleanup', `service state after everyone left: ${JSON.stringify(s)}`)
    if (this.model.running.size > 0) this.fail('cleanup', `torrents still running: ${[...this.model.running.keys()]}`)
    if (this.model.liveRuns > 0) this.fail('cleanup', 'engine not disposed')
  }
}

/** One scenario step, printable for shrunk counterexamples. */
interface Step {
  run(w: World): void
  toString(): string
}
const step = (label: string, run: (w: World) => void): Step => ({
  run,
  toString: () => label,
  [fc.toStringMethod]: () => label
}) as Step

// Mostly a few busy patrons (so they meet on the same torrents), sometimes up to 20.
const patronArb = fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 3 }) }, { weight: 1, arbitrary: fc.nat({ max: 19 }) })
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(patronArb, fc.constantFrom('a', 'a', 'b', 'c', 'bad')).map(([p, h]) => step(`p${p}.create(${h})`, (w) => w.create(p, h))) },
  { weight: 3, arbitrary: fc.tuple(patronArb, fc.nat(3)).map(([p, k]) => step(`p${p}.closeOwn(${k})`, (w) => w.closeOwn(p, k))) },
  { weight: 2, arbitrary: fc.tuple(patronArb, patronArb, fc.nat(3)).map(([p, q, k]) => step(`p${p}.closeForeign(p${q}, ${k})`, (w) => w.closeForeign(p, q, k))) },
  { weight: 1, arbitrary: patronArb.map((p) => step(`p${p}.endCommands()`, (w) => w.endCommands(p))) },
  { weight: 2, arbitrary: patronArb.map((p) => step(`p${p}.leave()`, (w) => w.leave(p))) },
  { weight: 3, arbitrary: fc.constant(step('tick', (w) => w.tick())) }
)
const scenarioArb = fc.record({
  engine: fc.oneof({ weight: 4, arbitrary: fc.constant('delayed' as const) }, { weight: 1, arbitrary: fc.constant('synchronous' as const) }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 30, size: 'max' })
})

const runScenario = async (s: fc.Scheduler, { engine, steps }: { engine: 'delayed' | 'synchronous'; steps: Step[] }): Promise<World> => {
  const w = new World(s, engine === 'synchronous')
  const driver = (async () => {
    for (const st of steps) {
      await s.schedule(Promise.resolve(String(st)), String(st))
      st.run(w)
      w.noOrphans(String(st))
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
      fc.asyncProperty(fc.scheduler(), scenarioArb, async (s, scenario) => {
        const w = await runScenario(s, scenario)
        const mine = w.violations.filter((v) => v.prop === prop).map((v) => v.msg)
        assert.deepEqual(mine, [])
      }),
      { numRuns: 1000 }
    )
  })
}

property('replies', 'each present patron gets exactly one reply per creation, in the order it issued them')
property('leaks', 'no patron receives a reply, update or refusal that belongs to another')
property('lossless', 'nothing is lost or duplicated: every tick reaches exactly the owners of each running torrent')
property('close', 'a CloseTorrent reaches the engine only from the last owner, once; non-owner closes are refused')
property('orphans', 'no torrent keeps running without a present owner once its creation reply is out')
property('lifetime', 'a patron whose commands ended ends exactly when nothing is pending and it owns nothing')
property('cleanup', 'after everyone leaves: no service state, no torrent running, engine disposed')
