/**
 * Pure routing state of a torrent service: who is waiting for which creation
 * reply, who owns which torrent. No streams, no I/O: every method updates the
 * state and appends the {@link Effect}s the caller must carry out, in order.
 * Keeping it pure makes each routing rule unit-testable and lets the service
 * run the effects through a single non-reentrant queue.
 *
 * @module
 */
import { Fifo } from './fifo.ts'
import { Owners, coOwned } from './owners.ts'
import { PRIORITY_WORDS, PriorityWishes, type EffectivePriority } from './priority-wishes.ts'
import {
  closeTorrent,
  setFilePriority,
  isCreationReply,
  torrentCommandRefused,
  torrentStartFail,
  type Command,
  type CreationReply,
  type EngineCommand,
  type EngineFeedback,
  type Feedback,
  type FilePriority,
  type PatronId,
  type ServiceMessage,
  type TorrentCommandRefused,
  type TorrentId
} from '../messages.ts'

/**
 * Something the service must do after a routing decision.
 *
 * @example
 * ```ts
 * const out: Effect[] = []
 * router.command(1, closeTorrent('t9'), out)
 * // out: [{ kind: 'deliver', patron: 1, message: { type: 'TorrentCommandRefused', ... } }]
 * ```
 */
export type Effect =
  | {
      /** Give `message` to the patron's output stream. */
      readonly kind: 'deliver'
      /** The addressee. */
      readonly patron: PatronId
      /** What it gets. */
      readonly message: Feedback
    }
  | {
      /** Pass `command` on to the engine. */
      readonly kind: 'engine'
      /** The command, as the engine will see it. */
      readonly command: EngineCommand
    }
  | {
      /** End the patron's output stream. */
      readonly kind: 'end'
      /** The patron whose output ends. */
      readonly patron: PatronId
    }
  | {
      /** Fail the patron's output stream with `error`. */
      readonly kind: 'error'
      /** The patron whose output fails. */
      readonly patron: PatronId
      /** Why. */
      readonly error: Error
    }

/**
 * A diagnostic snapshot of the routing state (for tests and debugging; its
 * shape may change).
 *
 * @example
 * ```ts
 * const { patrons, pending, torrents } = router.snapshot()
 * ```
 */
export interface RouterSnapshot {
  /** Registered patrons. */
  readonly patrons: number
  /** Entries in the global creation queue, including those of departed patrons. */
  readonly pending: number
  /** Entries in the queue whose patron is still present. */
  readonly livePending: number
  /** Torrents with at least one owner. */
  readonly torrents: number
  /** Torrents closed while creation requests sent before the close were unanswered. */
  readonly closing: number
  /** Owners of each torrent, by torrent id. */
  readonly owners: Readonly<Record<TorrentId, readonly PatronId[]>>
}

/**
 * A patron as the router knows it. The router makes a plain one for a bare
 * id; a caller that keeps its own per-patron fields (the service keeps the
 * patron's sink) registers its own object with these fields, so that the
 * owners {@link Router.ownersOf} lists are the caller's objects: a status
 * update then reaches a sink through one object per owner, not two, and the
 * caller chooses the field order (the fields a delivery reads first, in the
 * object's first cache line).
 *
 * @example
 * ```ts
 * class Line implements PatronState {
 *   readonly sink: Sink<Feedback>
 *   present = true
 *   pending = 0
 *   readonly owned = new Set<TorrentId>()
 *   commandsEnded = false
 *   constructor(readonly id: PatronId, sink: Sink<Feedback>) { this.sink = sink }
 * }
 * const r = new Router<Line>()
 * r.add(new Line(1, sink))
 * ```
 */
export interface PatronState {
  /** The patron. */
  readonly id: PatronId
  /** False once the patron has left or ended: its queue entries are dead. */
  present: boolean
  /** Unanswered CreateNewTorrent of this patron. */
  pending: number
  /** The torrents it owns. */
  readonly owned: Set<TorrentId>
  /** Its command stream ended. */
  commandsEnded: boolean
}

/** The router's own record of a patron registered by a bare id. */
class PlainPatron implements PatronState {
  present = true
  pending = 0
  readonly owned = new Set<TorrentId>()
  commandsEnded = false
  constructor(readonly id: PatronId) {}
}

/**
 * Where the router appends its {@link Effect}s: an array, or the caller's own
 * queue (the service hands the router its effect queue, so decisions are not
 * copied from one array to another).
 *
 * @example
 * ```ts
 * const out: EffectOut = []
 * router.command(1, closeTorrent('t9'), out)
 * ```
 */
export interface EffectOut {
  push(effect: Effect): unknown
}

/** One CreateNewTorrent waiting for its reply, in engine order. */
interface PendingEntry<P> {
  readonly patron: P
  readonly seq: number
  /** The file priorities the creation asked for, and for the files past them. */
  readonly priorities: readonly FilePriority[] | undefined
  readonly otherFiles: FilePriority | undefined
}

/** A close sent to the engine while older creation requests were unanswered. */
interface ClosingEntry {
  readonly torrentid: TorrentId
  /** Sequence number of the last creation request sent before the close. */
  readonly upTo: number
}

/**
 * The routing state machine of one engine session.
 *
 * Rules: creation replies are matched FIFO against one
 * global queue; status updates go to the torrent's owners by map lookup; a
 * close from a non-owner is refused; a departed patron's queue entries are
 * marked dead (not removed) so the others' FIFO order is untouched.
 *
 * @example
 * ```ts
 * const r = new Router()
 * const out: Effect[] = []
 * r.add(1)
 * r.command(1, createNewTorrent(bytes), out) // out: [{ kind: 'engine', command: ... }]
 * r.feedback(newTorrentCreated('t1', '/dl'), out) // out: [..., { kind: 'deliver', patron: 1, ... }]
 * ```
 */
export class Router<P extends PatronState = PatronState> {
  private readonly patrons = new Map<PatronId, P>()
  private readonly queue = new Fifo<PendingEntry<P>>()
  private nextSeq = 0
  // The service's own patron objects (PatronState objects of its own) hold
  // each owner's sink, so a status update reaches it through one object.
  private readonly owners = new Owners<P>()
  private readonly closing = new Fifo<ClosingEntry>()
  private readonly closingCount = new Map<TorrentId, number>()
  /** Co-owners' file priorities (see priority-wishes.ts: the highest wish wins). */
  private readonly wishes = new PriorityWishes()

  /** Number of registered patrons (the service's reference count). @example `r.size` */
  get size(): number {
    return this.patrons.size
  }

  /** True when the patron is registered. @example `r.has(1)` */
  has(patron: PatronId): boolean {
    return this.patrons.has(patron)
  }

  /**
   * Handle one message of the service's inbox (the TIPC envelopes):
   * ServiceAdd registers, ServiceRemove leaves, ServicePassOn routes the
   * wrapped command.
   * @example `r.inbox(servicePassOn(1, closeTorrent('t1')), out)`
   */
  inbox(msg: ServiceMessage, out: EffectOut): void {
    if (msg.type === 'ServiceAdd') this.add(msg.patron)
    else if (msg.type === 'ServiceRemove') this.leave(msg.patron, out)
    else this.command(msg.patron, msg.message, out)
  }

  /**
   * Register a patron: a bare id gets a plain {@link PatronState}; a
   * caller's object is kept as it is (it is what {@link Router.ownersOf}
   * lists). A second registration of the same id is ignored.
   * @example `r.add(1)`
   */
  add(patron: PatronId | P): void {
    const p = typeof patron === 'number' ? (new PlainPatron(patron) as P) : patron
    if (this.patrons.has(p.id)) return
    this.patrons.set(p.id, p)
  }

  /**
   * The owners of torrent `t` in the order {@link Router.feedback} delivers
   * its status updates to them: the owner itself when it is alone, an array
   * of two or more when co-owned, undefined when nobody owns it. The array
   * is live: copy it before anything that may change the owners. This is
   * the service's allocation-free path for status updates.
   * @example
   * ```ts
   * const o = r.ownersOf('t1')
   * const ids = o === undefined ? [] : Array.isArray(o) ? o.map((x) => x.id) : [o.id]
   * ```
   */
  ownersOf(t: TorrentId): P | readonly P[] | undefined {
    return this.owners.of(t)
  }

  /**
   * Route one command of a patron. Commands of unknown (departed or ended)
   * patrons are ignored.
   * @example `r.command(1, closeTorrent('t1'), out)`
   */
  command(patron: PatronId, cmd: Command, out: EffectOut): void {
    const p = this.patrons.get(patron)
    if (p === undefined) return
    if (cmd.type === 'CreateNewTorrent') {
      // Recorded before the command is handed out: the engine may reply synchronously.
      this.queue.push({ patron: p, seq: this.nextSeq++, priorities: cmd.priorities, otherFiles: cmd.otherFiles })
      p.pending++
      out.push({ kind: 'engine', command: cmd })
    } else if (cmd.type === 'CloseTorrent') {
      if (!this.owners.isOwner(cmd.torrentid, p)) {
        out.push({
          kind: 'deliver',
          patron,
          message: torrentCommandRefused(cmd, `CloseTorrent refused: this patron does not own torrent ${cmd.torrentid}`)
        })
        return
      }
      this.release(p, cmd.torrentid, out)
      this.maybeEnd(p, out)
    } else if (cmd.type === 'SetFilePriority') {
      const refuse = (why: string) => out.push({ kind: 'deliver', patron, message: torrentCommandRefused(cmd, `SetFilePriority refused: ${why}`) })
      if (!this.owners.isOwner(cmd.torrentid, p)) return void refuse(`this patron does not own torrent ${cmd.torrentid}`)
      if (cmd.file !== 'others' && (!Number.isSafeInteger(cmd.file) || cmd.file < 0)) return void refuse(`bad file index ${String(cmd.file)}`)
      if (!PRIORITY_WORDS.includes(cmd.priority)) return void refuse(`bad priority ${JSON.stringify(cmd.priority)} (skip, low, normal or high)`)
      const changes = this.wishes.set(cmd.torrentid, p.id, this.owners.ids(cmd.torrentid), cmd.file, cmd.priority)
      // The asked file goes to the engine even when nothing changes: only the engine knows whether the torrent has it.
      if (!changes.some((c) => c.file === cmd.file)) changes.push({ torrentid: cmd.torrentid, file: cmd.file, priority: this.wishes.priorityOf(cmd.torrentid, cmd.file) })
      this.applyPriorities(changes, out)
    } else {
      const unknown: { type?: unknown } = cmd
      out.push({
        kind: 'deliver',
        patron,
        message: torrentCommandRefused(cmd, `unknown command type ${String(unknown.type)}`)
      })
    }
  }

  /**
   * The patron's command stream ended: it stays (its torrents keep running)
   * until it has nothing pending and owns nothing, then its output ends.
   * @example `r.commandsEnded(1, out)`
   */
  commandsEnded(patron: PatronId, out: EffectOut): void {
    const p = this.patrons.get(patron)
    if (p === undefined) return
    p.commandsEnded = true
    this.maybeEnd(p, out)
  }

  /**
   * The patron left (its output was disposed): deregister it, mark its
   * pending entries dead, release its torrents (closing those it owned alone).
   * No effect is addressed to it any more.
   * @example `r.leave(1, out)`
   */
  leave(patron: PatronId, out: EffectOut): void {
    const p = this.patrons.get(patron)
    if (p === undefined) return
    this.remove(p, out)
  }

  /**
   * Route one message from the engine.
   * @example `r.feedback(torrentStatusUpdate('t1', emptyStats), out)`
   */
  feedback(msg: EngineFeedback, out: EffectOut): void {
    if (isCreationReply(msg)) this.reply(msg, out)
    else if (msg.type === 'TorrentStatusUpdate') {
      // Map lookup: cost depends on the torrent's owners, not on the patron count.
      const os = this.owners.of(msg.torrentid)
      if (os === undefined) return // unknown or closed torrent: dropped
      if (coOwned(os)) for (const o of os) out.push({ kind: 'deliver', patron: o.id, message: msg })
      else out.push({ kind: 'deliver', patron: os.id, message: msg })
    } else if (msg.type === 'TorrentCommandRefused') this.engineRefused(msg, out)
    // Anything else from an engine is not ours to route: dropped.
  }

  /**
   * The engine stopped (its stream ended or failed): every live pending
   * creation gets a TorrentStartFail, then every patron's stream ends (or
   * fails with `error`), and the state is cleared.
   * @example `r.engineStopped('engine stream ended', undefined, out)`
   */
  engineStopped(reason: string, error: Error | undefined, out: EffectOut): void {
    for (const e of this.queue) {
      if (e.patron.present) out.push({ kind: 'deliver', patron: e.patron.id, message: torrentStartFail(reason) })
    }
    for (const p of this.patrons.values()) {
      p.present = false
      out.push(error === undefined ? { kind: 'end', patron: p.id } : { kind: 'error', patron: p.id, error })
    }
    this.reset()
  }

  /** Forget everything (the engine session is over). @example `r.reset()` */
  reset(): void {
    for (const p of this.patrons.values()) p.present = false
    this.patrons.clear()
    this.queue.clear()
    this.owners.clear()
    this.closing.clear()
    this.closingCount.clear()
    this.wishes.clear()
  }

  /** Diagnostic snapshot. @example `r.snapshot().pending` */
  snapshot(): RouterSnapshot {
    let livePending = 0
    for (const e of this.queue) if (e.patron.present) livePending++
    const owners: Record<TorrentId, PatronId[]> = {}
    for (const t of this.owners.torrents()) owners[t] = this.owners.ids(t)
    return {
      patrons: this.patrons.size,
      pending: this.queue.length,
      livePending,
      torrents: this.owners.size,
      closing: this.closing.length,
      owners
    }
  }

  // -------------------------------------------------------------------------

  private reply(msg: CreationReply, out: EffectOut): void {
    const entry = this.queue.shift()
    if (entry === undefined) {
      // Nobody asked. A torrent nobody owns must not run.
      if (msg.type === 'NewTorrentCreated') this.sendClose(msg.torrentid, out)
      return
    }
    this.forgetClosesUpTo(entry.seq)
    const p = entry.patron
    if (!p.present) {
      // Departed patron: swallow the reply; close what it would have owned alone.
      if (msg.type === 'NewTorrentCreated') this.sendClose(msg.torrentid, out)
      this.forgetClosesUpTo(entry.seq + 1)
      return
    }
    p.pending--
    let delivered: CreationReply = msg
    if (msg.type === 'NewTorrentCreated') this.own(p, msg.torrentid, entry, out)
    else if (msg.type === 'TorrentAlreadyDownloading') {
      if (this.closingCount.has(msg.torrentid) && !this.owners.has(msg.torrentid)) {
        // The engine matched a torrent that its last owner closed after this
        // request was sent: by now it is gone, so joining it would be a lie.
        delivered = torrentStartFail(
          `torrent ${msg.torrentid} was already running but was closed by its last owner before this request was answered`
        )
      } else this.own(p, msg.torrentid, entry, out)
    }
    this.forgetClosesUpTo(entry.seq + 1)
    out.push({ kind: 'deliver', patron: p.id, message: delivered })
    this.maybeEnd(p, out)
  }

  /**
   * The engine refused a SetFilePriority (no such file): the owners that
   * asked for that file are told, each with its own wish, and their wishes
   * for it are forgotten; the other owners hear nothing.
   */
  private engineRefused(msg: TorrentCommandRefused, out: EffectOut): void {
    const cmd = msg.command
    if (cmd.type !== 'SetFilePriority' || typeof cmd.file !== 'number') return
    if (!this.owners.has(cmd.torrentid)) return
    const owners = this.owners.list(cmd.torrentid)
    for (const a of this.wishes.drop(cmd.torrentid, cmd.file)) {
      if (!owners.some((o) => o.id === a.owner)) continue
      out.push({ kind: 'deliver', patron: a.owner, message: torrentCommandRefused(setFilePriority(cmd.torrentid, cmd.file, a.priority), msg.reason) })
    }
  }

  private own(p: P, t: TorrentId, asked: PendingEntry<P>, out: EffectOut): void {
    if (!this.owners.add(t, p)) return
    // Most torrents have no wishes at all: then joining changes nothing, and the owner list is not built.
    if (this.wishes.concerns(t, asked.priorities, asked.otherFiles)) {
      this.applyPriorities(this.wishes.join(t, p.id, this.owners.ids(t), asked.priorities, asked.otherFiles), out)
    }
  }

  private applyPriorities(changes: readonly EffectivePriority[], out: EffectOut): void {
    for (const c of changes) out.push({ kind: 'engine', command: setFilePriority(c.torrentid, c.file, c.priority) })
  }

  /** Remove one owner; close the torrent when it was the last. */
  private release(p: P, t: TorrentId, out: EffectOut): void {
    const removal = this.owners.remove(t, p)
    if (removal === 'none') return
    this.applyPriorities(this.wishes.leave(t, p.id), out)
    if (removal === 'last') this.sendClose(t, out)
  }

  private sendClose(t: TorrentId, out: EffectOut): void {
    if (this.queue.length > 0) {
      // Older creation requests may still be answered with AlreadyDownloading(t).
      this.closing.push({ torrentid: t, upTo: this.nextSeq - 1 })
      this.closingCount.set(t, (this.closingCount.get(t) ?? 0) + 1)
    }
    out.push({ kind: 'engine', command: closeTorrent(t) })
  }

  private forgetClosesUpTo(seq: number): void {
    // Closes are recorded in increasing upTo order; one with upTo < seq was
    // processed by the engine before request seq, so it cannot affect its reply.
    for (let c = this.closing.peek(); c !== undefined && c.upTo < seq; c = this.closing.peek()) {
      this.closing.shift()
      const n = (this.closingCount.get(c.torrentid) ?? 1) - 1
      if (n <= 0) this.closingCount.delete(c.torrentid)
      else this.closingCount.set(c.torrentid, n)
    }
  }

  private remove(p: P, out: EffectOut): void {
    p.present = false
    this.patrons.delete(p.id)
    for (const t of p.owned) this.release(p, t, out)
    p.owned.clear()
    p.pending = 0
  }

  private maybeEnd(p: P, out: EffectOut): void {
    if (p.present && p.commandsEnded && p.pending === 0 && p.owned.size === 0) {
      this.remove(p, out)
      out.push({ kind: 'end', patron: p.id })
    }
  }
}
