/**
 * The torrent service: one engine shared by many patrons, after Kamaelia's
 * TorrentService. Routing decisions live in {@link Router}; this module owns
 * the engine's lifetime (reference counted), the patrons' sinks, and the
 * single effect queue through which every decision is carried out.
 *
 * @module
 */
import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import { servicePassOn, serviceRemove } from '../messages.ts'
import type { Command, EngineCommand, EngineFeedback, Feedback, PatronId, TorrentId, TorrentStatusUpdate } from '../messages.ts'
import { PushSource } from './push-source.ts'
import { Router, type Effect, type PatronState, type RouterSnapshot } from './router.ts'

import type { Engine } from '../engine-contract.ts'
export type { Engine }

/**
 * Lifetime of a service's engine: `idle` (no engine runs), `running`, or
 * `stopping` (inside the synchronous shutdown after the last patron left).
 *
 * @example
 * ```ts
 * if (service.state === 'idle') console.log('no engine running')
 * ```
 */
export type ServiceState = 'idle' | 'running' | 'stopping'

/**
 * A diagnostic snapshot of a service, for tests and debugging. Its shape may
 * change between versions; do not build logic on it.
 *
 * @example
 * ```ts
 * const s = service.inspect()
 * assert.equal(s.patrons + s.pending + s.torrents, 0)
 * ```
 */
export interface ServiceSnapshot extends RouterSnapshot {
  /** Where the engine is in its life. */
  readonly state: ServiceState
  /** How many times an engine was started by this service. */
  readonly engineRuns: number
  /** Patrons whose output sink the service still holds. */
  readonly sinks: number
  /** Decisions not yet carried out (non-zero only while re-entered). */
  readonly queuedEffects: number
}

/**
 * A patron's line to its service, as returned by {@link TorrentService.connect}.
 * `torrentPatron` manages it; use it directly only to write another
 * kind of patron.
 *
 * @example
 * ```ts
 * const line = service.connect(sink, scheduler)
 * line.send(createNewTorrent(bytes))
 * line.commandsEnded()
 * // later
 * line.leave()
 * ```
 */
export interface PatronConnection {
  /** The patron's identity inside the service. */
  readonly id: PatronId
  /** Pass one command on (routed synchronously; safe to call from inside an event). */
  send(command: Command): void
  /** The patron will send no more commands; its output ends once it has nothing pending and owns nothing. */
  commandsEnded(): void
  /** The patron's command stream failed: the patron leaves and its output fails with `err`. */
  commandsFailed(err: Error): void
  /** The patron leaves: pending replies dropped, torrents released. Idempotent. */
  leave(): void
}

/**
 * One engine shared by many patrons. Obtain one with {@link torrentService}
 * or `sharedService`; talk to it through `torrentPatron`.
 *
 * @example
 * ```ts
 * const service = torrentService(myEngine)
 * const out = torrentPatron(service, now(createNewTorrent(bytes)))
 * ```
 */
export interface TorrentService {
  /** Register a patron whose feedback goes to `sink`; starts the engine for the first one. */
  connect(sink: Sink<Feedback>, scheduler: Scheduler): PatronConnection
  /** Where the engine is in its life. */
  readonly state: ServiceState
  /** Diagnostic snapshot (tests, debugging). */
  inspect(): ServiceSnapshot
}

/** One run of the engine, from the first patron joining to the last leaving. */
class Session {
  constructor(readonly generation: number) {}
  readonly commands = new PushSource<EngineCommand>()
  disposable: Disposable | undefined
  live = true
}

/** What the drain loop carries out: router effects, or a stop. */
type Queued = Effect | { readonly kind: 'stop' }

const STOP: Queued = Object.freeze({ kind: 'stop' })

/**
 * A connected patron: the router's state of it and its sink, in one object,
 * so that a status update reaches the sink from the router's owner list
 * without a second object per owner. The fields a delivery reads come first
 * (declared, not initialised by parameter, so their order is this one).
 */
class PatronLine implements PatronState {
  readonly sink: Sink<Feedback>
  readonly scheduler: Scheduler
  /** True while the sink is in `Service.sinks` (the fast path checks this instead of the map). */
  connected = true
  readonly id: PatronId
  present = true
  pending = 0
  readonly owned = new Set<TorrentId>()
  commandsEnded = false
  constructor(id: PatronId, sink: Sink<Feedback>, scheduler: Scheduler) {
    this.sink = sink
    this.scheduler = scheduler
    this.id = id
  }
}

/**
 * A patron's line to the service: one object per patron (not a closure per
 * verb), so connecting allocates little between one patron's state and the
 * next one's.
 */
class Connection implements PatronConnection {
  private open = true
  constructor(
    private readonly service: Service,
    private readonly line: PatronLine
  ) {}

  get id(): PatronId {
    return this.line.id
  }

  send(command: Command): void {
    if (this.open) this.service.send(this.line, command)
  }

  commandsEnded(): void {
    if (this.open) this.service.commandsEnded(this.line)
  }

  commandsFailed(err: Error): void {
    if (!this.open) return
    this.open = false
    this.service.commandsFailed(this.line, err)
  }

  leave(): void {
    if (!this.open) return
    this.open = false
    this.service.leave(this.line)
  }
}

/** Receives the engine's output for one session. */
class EngineSink implements Sink<EngineFeedback> {
  constructor(
    private readonly service: Service,
    private readonly session: Session
  ) {}

  event(_t: number, msg: EngineFeedback): void {
    this.service.onFeedback(this.session, msg)
  }

  end(_t: number): void {
    this.service.onEngineStopped(this.session, undefined)
  }

  error(_t: number, err: Error): void {
    this.service.onEngineStopped(this.session, err)
  }
}

class Service implements TorrentService {
  // State lives here, outside any run(): the engine's stream is run once per
  // session and routed from this one place, not re-run per patron.
  private readonly router = new Router<PatronLine>()
  private readonly sinks = new Map<PatronId, PatronLine>()
  // The effect queue: the router appends its decisions straight to it, and
  // `generations` holds, at the same index, the engine session each was
  // decided in (only engine commands look at it).
  private queue: Queued[] = []
  private generations: number[] = []
  private head = 0
  private draining = false
  private stopQueued = false
  private session: Session | undefined
  // Engine commands are tagged with the generation they were decided in, so a
  // command decided for one engine never reaches the next one; commands
  // decided during a shutdown belong to the engine started after it.
  private generation = 0
  private nextId = 1
  private engineRuns = 0
  private lastScheduler: Scheduler | undefined
  state: ServiceState = 'idle'

  constructor(private readonly engine: Engine) {}

  connect(sink: Sink<Feedback>, scheduler: Scheduler): PatronConnection {
    const line = new PatronLine(this.nextId++, sink, scheduler)
    const id = line.id
    this.sinks.set(id, line)
    this.router.add(line)
    this.lastScheduler = scheduler
    // While stopping, the new patron waits for the old engine to be gone;
    // stop() then starts a fresh one for it.
    if (this.state === 'idle') this.start(scheduler)
    return new Connection(this, line)
  }

  /** A patron's command (see {@link PatronConnection.send}). */
  send(line: PatronLine, command: Command): void {
    this.router.inbox(servicePassOn(line.id, command), this.queue)
    this.settle()
  }

  /** A patron's commands ended (see {@link PatronConnection.commandsEnded}). */
  commandsEnded(line: PatronLine): void {
    this.router.commandsEnded(line.id, this.queue)
    this.settle()
  }

  /** A patron's commands failed (see {@link PatronConnection.commandsFailed}). */
  commandsFailed(line: PatronLine, err: Error): void {
    const s = this.dropSink(line.id)
    this.router.leave(line.id, this.queue)
    this.settle()
    if (s !== undefined) safely(() => s.sink.error(s.scheduler.currentTime(), err))
  }

  /** A patron leaves (see {@link PatronConnection.leave}). */
  leave(line: PatronLine): void {
    this.dropSink(line.id)
    this.router.inbox(serviceRemove(line.id), this.queue)
    this.settle()
  }

  inspect(): ServiceSnapshot {
    return {
      ...this.router.snapshot(),
      state: this.state,
      engineRuns: this.engineRuns,
      sinks: this.sinks.size,
      queuedEffects: this.queue.length - this.head
    }
  }

  onFeedback(session: Session, msg: EngineFeedback): void {
    if (!session.live) return
    if (msg.type === 'TorrentStatusUpdate' && !this.draining && this.head === this.queue.length) this.fastUpdate(msg)
    else {
      this.router.feedback(msg, this.queue)
      this.settle()
    }
  }

  onEngineStopped(session: Session, err: Error | undefined): void {
    if (!session.live) return
    session.live = false
    this.session = undefined
    this.state = 'idle'
    this.generation++
    session.disposable?.dispose()
    const reason =
      err === undefined ? 'engine stopped: its output ended' : `engine stopped: it failed: ${err.message}`
    this.router.engineStopped(reason, err, this.queue)
    this.settle()
  }

  // -------------------------------------------------------------------------

  private start(scheduler: Scheduler): void {
    const session = new Session(this.generation)
    this.session = session
    this.state = 'running'
    this.engineRuns++
    let d: Disposable
    try {
      d = this.engine(session.commands).run(new EngineSink(this, session), scheduler)
    } catch (e) {
      this.onEngineStopped(session, asError(e))
      return
    }
    // The engine may have ended synchronously inside run().
    if (session.live) session.disposable = d
    else d.dispose()
  }

  private stop(): void {
    const session = this.session
    this.session = undefined
    this.state = 'stopping'
    this.generation++
    // Dead queue entries of departed patrons die with the engine.
    this.router.reset()
    try {
      if (session !== undefined) {
        session.live = false
        session.commands.end()
        session.disposable?.dispose()
      }
    } finally {
      this.state = 'idle'
      // A patron that arrived during the shutdown gets a fresh engine.
      if (this.router.size > 0 && this.lastScheduler !== undefined) this.start(this.lastScheduler)
      else this.forgetShutdownArrivals()
    }
  }

  /**
   * Every patron that arrived during the shutdown left before it ended: the
   * creations they queued have no engine to go to, so their dead entries and
   * the commands tagged for the next engine go too. Kept, the next session's
   * first reply would be matched with a dead entry and every later reply of
   * that session with the wrong request.
   */
  private forgetShutdownArrivals(): void {
    this.router.reset()
    this.generation++
  }

  /**
   * A status update with nothing else queued: the steady state of a busy
   * service (every torrent reports once a second). Same outcome as routing
   * it through {@link Router.feedback} and the effect queue, without the
   * closure, effect objects and second map lookup per owner. Draining is
   * held so that whatever the sinks do re-entrantly waits until every owner
   * has the update, as in the queue.
   */
  private fastUpdate(msg: TorrentStatusUpdate): void {
    const owners = this.router.ownersOf(msg.torrentid)
    if (owners === undefined) return
    this.draining = true
    try {
      if (owners instanceof PatronLine) this.deliver(owners, msg)
      else for (const o of owners.slice()) this.deliver(o, msg) // a sink may change the owners
    } finally {
      this.draining = false
    }
    if (this.head < this.queue.length) this.drain()
  }

  /** Give one message to a connected patron; a throwing sink is that patron's failure. */
  private deliver(s: PatronLine, message: Feedback): void {
    if (!s.connected) return
    try {
      s.sink.event(s.scheduler.currentTime(), message)
    } catch (err) {
      // A throwing sink is that patron's failure: it leaves, the others go on.
      this.dropSink(s.id)
      this.router.leave(s.id, this.queue)
      this.settle()
      safely(() => s.sink.error(s.scheduler.currentTime(), asError(err)))
    }
  }

  /** Forget a patron's sink (it gets nothing more from the queue or the fast path). */
  private dropSink(id: PatronId): PatronLine | undefined {
    const s = this.sinks.get(id)
    if (s === undefined) return undefined
    s.connected = false
    this.sinks.delete(id)
    return s
  }

  /**
   * After a routing decision (which the router appended to the queue): tag
   * what it queued with the current engine generation, queue the engine's
   * stop when nobody is left, and carry everything out.
   */
  private settle(): void {
    for (let i = this.generations.length; i < this.queue.length; i++) this.generations.push(this.generation)
    if (this.router.size === 0 && this.state === 'running' && !this.stopQueued) {
      this.stopQueued = true
      this.queue.push(STOP)
      this.generations.push(this.generation)
    }
    this.drain()
  }

  /**
   * Carry out queued effects in decision order. Not re-entrant: a patron
   * sending a command from inside an event, or an engine replying
   * synchronously, only queues; the outer loop delivers, so every patron
   * sees its messages in the order the router decided them.
   */
  private drain(): void {
    if (this.draining) return
    this.draining = true
    try {
      while (this.head < this.queue.length) {
        const i = this.head++
        this.perform(this.queue[i]!, this.generations[i]!)
      }
    } finally {
      if (this.head === this.queue.length) {
        this.queue.length = 0
        this.generations.length = 0
      } else {
        this.queue = this.queue.slice(this.head)
        this.generations = this.generations.slice(this.head)
      }
      this.head = 0
      this.draining = false
    }
  }

  private perform(e: Queued, generation: number): void {
    switch (e.kind) {
      case 'engine':
        const session = this.session
        if (session !== undefined && session.live && session.generation === generation) {
          try {
            session.commands.event(e.command)
          } catch (err) {
            this.onEngineStopped(session, asError(err))
          }
        }
        return
      case 'deliver': {
        const s = this.sinks.get(e.patron)
        if (s !== undefined) this.deliver(s, e.message)
        return
      }
      case 'end':
      case 'error': {
        const s = this.dropSink(e.patron)
        if (s === undefined) return
        const t = s.scheduler.currentTime()
        safely(() => (e.kind === 'end' ? s.sink.end(t) : s.sink.error(t, e.error)))
        return
      }
      case 'stop':
        this.stopQueued = false
        if (this.router.size === 0 && this.state === 'running') this.stop()
        return
    }
  }
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))

/** Nothing more can be told to a sink that throws while ending: ignore it. */
const safely = (f: () => void): void => {
  try {
    f()
  } catch {
    /* the patron is gone either way */
  }
}

/**
 * Create an explicit, isolated service around `engine`. The engine is run
 * when the first patron subscribes and disposed when the last one leaves;
 * the next patron starts it afresh. No global state: create one per test.
 *
 * @example
 * ```ts
 * import { runEffects, tap, now } from '@most/core'
 * import { newDefaultScheduler } from '@most/scheduler'
 * const service = torrentService(torrentClient({ folder: 'downloads' }))
 * const out = torrentPatron(service, now(createNewTorrent(bytes)))
 * await runEffects(tap((m) => console.log(m.type), out), newDefaultScheduler())
 * ```
 */
export const torrentService = (engine: Engine): TorrentService => new Service(engine)
