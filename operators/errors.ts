import type { Disposable, Scheduler, Sink, Stream, Time } from '@most/types'
import {
  isTorrentCommandRefused,
  isTorrentStartFail,
  isTorrentStatusUpdate,
  type Feedback,
  type TorrentCommandRefused,
  type TorrentId,
  type TorrentStartFail,
  type TorrentStatusUpdate
} from '../lib/messages.ts'

/**
 * One problem found in a feedback stream, with the message it came from:
 * `kind` says which (a creation that failed, a refused command, a torrent
 * in error), `reason` says why in words.
 *
 * @example
 * ```ts
 * const text = (p: TorrentProblem) => (p.kind === 'torrent' ? `${p.torrentid}: ${p.reason}` : p.reason)
 * ```
 */
export type TorrentProblem = StartFailProblem | RefusedProblem | TorrentErrorProblem

/**
 * A creation that failed.
 *
 * @example
 * ```ts
 * const problem: StartFailProblem = { kind: 'start-fail', reason: 'metainfo: bad piece length', message: torrentStartFail('metainfo: bad piece length') }
 * ```
 */
export interface StartFailProblem {
  /** Discriminant. */
  readonly kind: 'start-fail'
  /** Why the torrent could not start. */
  readonly reason: string
  /** The reply that said so. */
  readonly message: TorrentStartFail
}

/**
 * A command the service refused.
 *
 * @example
 * ```ts
 * const onRefused = (p: RefusedProblem) => console.error(p.reason, p.message.command)
 * ```
 */
export interface RefusedProblem {
  /** Discriminant. */
  readonly kind: 'refused'
  /** Why it was refused. */
  readonly reason: string
  /** The refusal, holding the command. */
  readonly message: TorrentCommandRefused
}

/**
 * A running torrent whose activity turned to `"error: ..."`.
 *
 * @example
 * ```ts
 * const closeBroken = (p: TorrentErrorProblem) => closeTorrent(p.torrentid) // a command for the patron
 * ```
 */
export interface TorrentErrorProblem {
  /** Discriminant. */
  readonly kind: 'torrent'
  /** The activity without its `error:` prefix. */
  readonly reason: string
  /** The torrent in error. */
  readonly torrentid: TorrentId
  /** The status update that showed it. */
  readonly message: TorrentStatusUpdate
}

const errorActivity = /^error:?\s*/

class Errors implements Stream<TorrentProblem> {
  constructor(private readonly source: Stream<Feedback>) {}
  run(sink: Sink<TorrentProblem>, scheduler: Scheduler): Disposable {
    return this.source.run(new ErrorsSink(sink), scheduler)
  }
}

class ErrorsSink implements Sink<Feedback> {
  // Last activity per torrent, so a torrent stuck in error is reported once, not every second.
  private readonly last = new Map<TorrentId, string>()

  constructor(private readonly sink: Sink<TorrentProblem>) {}

  event(t: Time, m: Feedback): void {
    if (isTorrentStartFail(m)) this.sink.event(t, { kind: 'start-fail', reason: m.reason, message: m })
    else if (isTorrentCommandRefused(m)) this.sink.event(t, { kind: 'refused', reason: m.reason, message: m })
    else if (isTorrentStatusUpdate(m)) {
      const activity = m.statsdictionary.activity
      const before = this.last.get(m.torrentid)
      this.last.set(m.torrentid, activity)
      if (activity !== before && errorActivity.test(activity)) {
        const reason = activity.replace(errorActivity, '') || activity
        this.sink.event(t, { kind: 'torrent', reason, torrentid: m.torrentid, message: m })
      }
    }
  }

  end(t: Time): void {
    this.sink.end(t)
  }

  error(t: Time, e: Error): void {
    this.sink.error(t, e)
  }
}

/**
 * Everything that went wrong, as data: a torrent that could not start
 * (`TorrentStartFail`), a command the service refused
 * (`TorrentCommandRefused`), and a torrent whose activity turned to
 * `"error: ..."` (reported once per change, not on every update).
 *
 * @example
 * ```ts
 * import { tap } from '@most/core'
 * const report = tap((p: TorrentProblem) => console.error(`${p.kind}: ${p.reason}`))
 * report(errors(feedback))
 * ```
 */
export const errors = (feedback: Stream<Feedback>): Stream<TorrentProblem> => new Errors(feedback)
