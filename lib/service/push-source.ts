/**
 * A hot stream you push values into by hand: the service uses one to feed
 * commands to its engine, and tests use them as patrons' command streams.
 *
 * Written here rather than taken from @most/adapter because the published
 * adapter broadcasts over its live subscriber array: a subscriber disposed
 * in the middle of a broadcast shifts the array and the next one misses the
 * event. This one broadcasts over a snapshot and skips only the subscribers
 * that are already disposed.
 *
 * @module
 */
import { tryEvent } from '../try-event.ts'
import type { Disposable, Scheduler, Sink, Stream } from '@most/types'

/** One subscription: a sink, its scheduler (for event times) and whether it is still live. */
class Subscription<A> implements Disposable {
  live = true
  constructor(
    readonly sink: Sink<A>,
    readonly scheduler: Scheduler,
    private readonly remove: (s: Subscription<A>) => void
  ) {}

  dispose(): void {
    if (!this.live) return
    this.live = false
    this.remove(this)
  }
}

/**
 * A hot, multi-subscriber source. Values pushed while nobody subscribes are
 * dropped; after {@link PushSource.end} or {@link PushSource.error} the
 * source is finished and later subscribers end at once.
 *
 * @example
 * ```ts
 * const commands = new PushSource<Command>()
 * const out = torrentPatron(service, commands)
 * runEffects(tap(console.log, out), newDefaultScheduler())
 * commands.event(createNewTorrent(bytes))
 * commands.end()
 * ```
 */
export class PushSource<A> implements Stream<A> {
  private subs: Subscription<A>[] = []
  private finished: { error?: Error } | undefined

  /** Subscribe a sink. @example `const d = source.run(sink, scheduler)` */
  run(sink: Sink<A>, scheduler: Scheduler): Disposable {
    const sub = new Subscription(sink, scheduler, (s) => {
      this.subs = this.subs.filter((x) => x !== s)
    })
    if (this.finished !== undefined) {
      // Finished sources tell latecomers at once, as @most/core's empty() would.
      const f = this.finished
      if (f.error !== undefined) sink.error(scheduler.currentTime(), f.error)
      else sink.end(scheduler.currentTime())
      sub.live = false
      return sub
    }
    this.subs = [...this.subs, sub]
    return sub
  }

  /** Push a value to every live subscriber. @example `source.event(closeTorrent(id))` */
  event(value: A): void {
    if (this.finished !== undefined) return
    // One subscriber that throws fails its own stream (sink.error); the others still get the value.
    for (const s of this.subs) if (s.live && !tryEvent(s.scheduler.currentTime(), value, s.sink)) s.live = false
  }

  /** End the stream for every subscriber. @example `source.end()` */
  end(): void {
    this.finish({})
  }

  /** Fail the stream for every subscriber. @example `source.error(new Error('gone'))` */
  error(err: Error): void {
    this.finish({ error: err })
  }

  /** Number of live subscribers (diagnostic). @example `source.subscribers` */
  get subscribers(): number {
    return this.subs.length
  }

  private finish(f: { error?: Error }): void {
    if (this.finished !== undefined) return
    this.finished = f
    const subs = this.subs
    this.subs = []
    for (const s of subs) {
      if (!s.live) continue
      s.live = false
      const t = s.scheduler.currentTime()
      if (f.error !== undefined) s.sink.error(t, f.error)
      else s.sink.end(t)
    }
  }
}
