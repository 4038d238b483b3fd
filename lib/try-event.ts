/**
 * The guard every event source puts around its sink, as @most/core's own
 * sources do: a throw in `sink.event` (user code in a `tap`, a `map`, ...)
 * becomes `sink.error` on that stream rather than an exception in a file
 * watcher's, a socket's or a timer's callback, where it would kill the process.
 *
 * @module
 */
import type { Sink, Time } from '@most/types'

/**
 * Deliver `value` to `sink`; a throw becomes `sink.error(t, err)`. Returns
 * false when the sink threw, so that a source can stop producing.
 *
 * @example
 * ```ts
 * emitter.on('data', (x) => tryEvent(scheduler.currentTime(), x, sink))
 * ```
 */
export const tryEvent = <A>(t: Time, value: A, sink: Sink<A>): boolean => {
  try {
    sink.event(t, value)
    return true
  } catch (e) {
    sink.error(t, e instanceof Error ? e : new Error(String(e)))
    return false
  }
}

/**
 * End `sink`; a throw becomes `sink.error(t, err)`.
 *
 * @example
 * ```ts
 * iterator.next().then((r) => r.done && tryEnd(scheduler.currentTime(), sink))
 * ```
 */
export const tryEnd = (t: Time, sink: Sink<unknown>): void => {
  try {
    sink.end(t)
  } catch (e) {
    sink.error(t, e instanceof Error ? e : new Error(String(e)))
  }
}
