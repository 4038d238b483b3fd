/**
 * `torrent-patron/most-legacy`: a bridge from @most/core streams to `most` 1.x,
 * on its own entry point so that only the programs that use it load `most`
 * (an optional peer dependency: `npm install most@1` to use it).
 *
 * @example
 * ```ts
 * import { toMostLegacy } from 'torrent-patron/most-legacy'
 * await toMostLegacy(progress(feedback)).observe(console.log)
 * ```
 *
 * @module
 */
import { newDefaultScheduler } from '@most/scheduler'
import type { Scheduler, Stream } from '@most/types'
import most from 'most'

/**
 * The same events as a `most` 1.x stream, with its fluent API
 * (`.map().filter().observe()`), for code not yet moved to @most/core. The
 * @most/core stream runs on its own scheduler; events are stamped with the
 * legacy scheduler's clock.
 *
 * @param scheduler the @most/core scheduler to run `stream` on; a new default one when absent
 *
 * @example
 * ```ts
 * await toMostLegacy(progress(forTorrent(id, feedback)))
 *   .map((f) => `${Math.round(f * 100)}%`)
 *   .observe(console.log)
 * ```
 */
export const toMostLegacy = <A>(stream: Stream<A>, scheduler: Scheduler = newDefaultScheduler()): most.Stream<A> =>
  new most.Stream<A>({
    run: (sink, legacy) =>
      stream.run(
        {
          event: (_t, a) => sink.event(legacy.now(), a),
          end: () => sink.end(legacy.now()),
          error: (_t, e) => sink.error(legacy.now(), e)
        },
        scheduler
      )
  })
