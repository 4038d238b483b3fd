import type { Disposable, Scheduler, Sink, Stream, Time } from '@most/types'
import { isTorrentStatusUpdate, type Feedback, type TorrentId, type TorrentStatusUpdate } from '../lib/messages.ts'
import { curry2 } from '@most/prelude'
import { SettableDisposable } from './settable.ts'
import { EndsOnceSink } from './ends-once-sink.ts'

/**
 * A torrent stopped (error or shut down) before it completed: the error of a
 * {@link completion} stream.
 *
 * @example
 * ```ts
 * await runEffects(completion(id, feedback), scheduler).catch((e) => {
 *   if (e instanceof TorrentFailedError) console.error(e.torrentid, e.activity)
 * })
 * ```
 */
export class TorrentFailedError extends Error {
  constructor(
    /** The torrent that failed. */
    readonly torrentid: TorrentId,
    /** Its last activity, e.g. `"error: disk full"` or `"shut down"`. */
    readonly activity: string
  ) {
    super(`torrent ${torrentid} did not complete: ${activity}`)
    this.name = 'TorrentFailedError'
  }
}

/**
 * True when a status update says the torrent has all its verified data:
 * activity `"seeding"`, or `fractionDone` 1 outside `"checking"` (where the
 * fraction measures the check, not the data).
 *
 * @example
 * ```ts
 * const done = filter(isComplete, statusUpdates(feedback))
 * ```
 */
export const isComplete = (u: TorrentStatusUpdate): boolean =>
  u.statsdictionary.activity === 'seeding' ||
  (u.statsdictionary.fractionDone >= 1 && u.statsdictionary.activity !== 'checking')

/**
 * True when a status update says the torrent stopped for good: activity
 * `"error: ..."` or `"shut down"`.
 *
 * @example
 * ```ts
 * const stopped = filter(isFailed, forTorrent(id, feedback))
 * ```
 */
export const isFailed = (u: TorrentStatusUpdate): boolean =>
  u.statsdictionary.activity.startsWith('error') || u.statsdictionary.activity === 'shut down'

class Completion implements Stream<TorrentStatusUpdate> {
  constructor(
    private readonly torrentid: TorrentId,
    private readonly source: Stream<Feedback>
  ) {}

  run(sink: Sink<TorrentStatusUpdate>, scheduler: Scheduler): Disposable {
    const upstream = new SettableDisposable()
    upstream.set(this.source.run(new CompletionSink(this.torrentid, sink, upstream), scheduler))
    return upstream
  }
}

class CompletionSink extends EndsOnceSink<Feedback, TorrentStatusUpdate> {
  constructor(
    private readonly torrentid: TorrentId,
    sink: Sink<TorrentStatusUpdate>,
    upstream: Disposable
  ) {
    super(sink, upstream)
  }

  event(t: Time, m: Feedback): void {
    if (this.done || !isTorrentStatusUpdate(m) || m.torrentid !== this.torrentid) return
    if (isComplete(m)) {
      this.done = true
      this.sink.event(t, m)
      this.sink.end(t)
      this.upstream.dispose()
    } else if (isFailed(m)) {
      this.done = true
      this.sink.error(t, new TorrentFailedError(m.torrentid, m.statsdictionary.activity))
      this.upstream.dispose()
    }
  }

}

/**
 * Emits once, the first status update that shows the torrent complete
 * (`fractionDone` 1 or activity `"seeding"`), then ends and lets go of its
 * source. Fails with a {@link TorrentFailedError} if the torrent reports
 * `"error: ..."` or `"shut down"` first; ends silently if the source ends first.
 *
 * @example
 * ```ts
 * import { runEffects, tap } from '@most/core'
 * const done = tap(() => console.log('complete'), completion(id, feedback))
 * await runEffects(done, scheduler) // resolves once complete
 * ```
 */
export const completion = curry2(
  (torrentid: TorrentId, feedback: Stream<Feedback>): Stream<TorrentStatusUpdate> => new Completion(torrentid, feedback)
)
