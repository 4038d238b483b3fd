import { delay as delayTask } from '@most/scheduler'
import type { Disposable, ScheduledTask, Scheduler, Sink, Stream, Time } from '@most/types'
import { closeTorrent, isTorrentStatusUpdate, type CloseTorrent, type Feedback, type TorrentId, type TorrentStatusUpdate } from '../lib/messages.ts'
import { isComplete, isFailed } from './completion.ts'
import { curry2 } from '@most/prelude'

/**
 * When {@link closeAfter} closes a completed torrent; whichever limit is reached first.
 *
 * @example
 * ```ts
 * const limits: SeedLimits = { ratio: 1.5, seconds: 2 * 3600 }
 * ```
 */
export interface SeedLimits {
  /**
   * Share ratio: bytes uploaded divided by bytes downloaded in this session.
   * A torrent that downloaded nothing (seeded from data already on disk)
   * has no ratio; give `seconds` for those.
   */
  readonly ratio?: number
  /** Seconds of seeding, counted from the first update that shows the torrent complete. */
  readonly seconds?: number
}

class CloseAfter implements Stream<CloseTorrent> {
  constructor(
    private readonly limits: SeedLimits,
    private readonly source: Stream<Feedback>
  ) {}

  run(sink: Sink<CloseTorrent>, scheduler: Scheduler): Disposable {
    const s = new CloseAfterSink(this.limits, sink, scheduler)
    const upstream = this.source.run(s, scheduler)
    return {
      dispose: () => {
        s.cancelAll()
        upstream.dispose()
      }
    }
  }
}

/** Per torrent: not yet complete (absent), seeding (timer maybe running), or closed. */
type Seeding = { readonly timer: ScheduledTask | undefined } | 'closed'

class CloseAfterSink implements Sink<Feedback> {
  private readonly torrents = new Map<TorrentId, Seeding>()
  private ended = false

  constructor(
    private readonly limits: SeedLimits,
    private readonly sink: Sink<CloseTorrent>,
    private readonly scheduler: Scheduler
  ) {}

  event(t: Time, m: Feedback): void {
    if (this.ended || !isTorrentStatusUpdate(m)) return
    const id = m.torrentid
    const state = this.torrents.get(id)
    if (state === 'closed') return
    if (isFailed(m)) {
      this.forget(id)
      return
    }
    if (state === undefined) {
      if (!isComplete(m)) return
      this.torrents.set(id, { timer: this.startTimer(id) })
    }
    if (this.ratioReached(m)) this.close(t, id)
  }

  end(t: Time): void {
    // No more feedback means the torrents are gone: nothing left to close.
    this.cancelAll()
    this.ended = true
    this.sink.end(t)
  }

  error(t: Time, e: Error): void {
    this.cancelAll()
    this.ended = true
    this.sink.error(t, e)
  }

  cancelAll(): void {
    for (const id of [...this.torrents.keys()]) this.forget(id)
  }

  private startTimer(id: TorrentId): ScheduledTask | undefined {
    const { seconds } = this.limits
    if (seconds === undefined) return undefined
    const task = {
      run: (t: Time) => this.close(t, id),
      error: (t: Time, e: Error) => this.sink.error(t, e),
      dispose: () => undefined
    }
    return delayTask(Math.max(0, seconds * 1000), task, this.scheduler)
  }

  private ratioReached(m: TorrentStatusUpdate): boolean {
    const { ratio } = this.limits
    const { upTotal, downTotal } = m.statsdictionary
    return ratio !== undefined && downTotal > 0 && upTotal / downTotal >= ratio
  }

  private close(t: Time, id: TorrentId): void {
    if (this.ended || this.torrents.get(id) === 'closed') return
    this.forget(id)
    this.torrents.set(id, 'closed')
    this.sink.event(t, closeTorrent(id))
  }

  private forget(id: TorrentId): void {
    const state = this.torrents.get(id)
    if (state !== undefined && state !== 'closed') state.timer?.dispose()
    this.torrents.delete(id)
  }
}

/**
 * Decide when to stop seeding: watches a patron's feedback and emits one
 * `CloseTorrent` per torrent once it has seeded to share `ratio` or for
 * `seconds` after completing, whichever comes first. Feed its output back
 * into the same patron's commands (see `examples/`), or merge it into them.
 *
 * @example
 * ```ts
 * import { merge } from '@most/core'
 * // commands is a PushSource<Command> feeding the patron that produced feedback
 * const closes = closeAfter({ ratio: 2, seconds: 3600 }, feedback)
 * runEffects(tap((c: CloseTorrent) => commands.event(c), closes), scheduler)
 * ```
 */
export const closeAfter = curry2(
  (limits: SeedLimits, feedback: Stream<Feedback>): Stream<CloseTorrent> => new CloseAfter(limits, feedback)
)
