import { merge } from '@most/core'
import type { Disposable, Scheduler, Sink, Stream, Time } from '@most/types'
import type { Command, Feedback } from '../lib/messages.ts'
import { torrentPatron } from '../lib/patron.ts'
import { PushSource } from '../lib/service/index.ts'
import type { PatronSource } from './downloadAll.ts'
import { curry2 } from '@most/prelude'

class FeedbackLoop implements Stream<Feedback> {
  constructor(
    private readonly patron: (commands: Stream<Command>) => Stream<Feedback>,
    private readonly react: (feedback: Stream<Feedback>) => Stream<Command>,
    private readonly commands: Stream<Command>
  ) {}

  run(sink: Sink<Feedback>, scheduler: Scheduler): Disposable {
    // Two hot sources close the cycle: feedback goes out to `react` through
    // one, its commands come back into the patron through the other.
    const feedback = new PushSource<Feedback>()
    const reactions = new PushSource<Command>()
    const reacting = this.react(feedback).run(
      {
        event: (_t: Time, c: Command) => reactions.event(c),
        end: () => undefined,
        error: (_t: Time, e: Error) => reactions.error(e)
      },
      scheduler
    )
    const out = this.patron(merge(this.commands, reactions)).run(
      {
        event: (t: Time, m: Feedback) => {
          sink.event(t, m)
          feedback.event(m)
        },
        end: (t: Time) => {
          feedback.end()
          sink.end(t)
        },
        error: (t: Time, e: Error) => {
          feedback.end()
          sink.error(t, e)
        }
      },
      scheduler
    )
    return {
      dispose: () => {
        reacting.dispose()
        out.dispose()
      }
    }
  }
}

/**
 * A patron whose own feedback can produce more of its commands: `react`
 * sees the patron's feedback and what it emits is sent back in, next to
 * `commands`. This is how {@link closeAfter} reaches the patron that owns
 * the torrents it closes (a patron may close only its own torrents).
 *
 * @param via a service (a patron is made per run) or a patron function
 * @param react from the patron's feedback to extra commands
 *
 * @example
 * ```ts
 * const seedAWhile = feedbackLoop(service, closeAfter({ ratio: 2, seconds: 600 }))
 * const out = seedAWhile(now(createNewTorrent(bytes))) // seeds, then closes the torrent; runs until disposed
 * ```
 */
export const feedbackLoop = curry2(
  (via: PatronSource, react: (feedback: Stream<Feedback>) => Stream<Command>): ((commands: Stream<Command>) => Stream<Feedback>) => {
    const patron = typeof via === 'function' ? via : torrentPatron(via)
    return (commands: Stream<Command>) => new FeedbackLoop(patron, react, commands)
  }
)
