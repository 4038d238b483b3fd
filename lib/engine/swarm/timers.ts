/**
 * The clock and timers the tracker clients run on: the real ones by default,
 * a manual one in tests, so retry and interval rules are checked without
 * waiting for them.
 *
 * @internal
 * @module
 */

/** A timer handle, whatever the clock's kind. */
export type TimerHandle = unknown

/** A clock with one-shot timers. */
export interface Timers {
  /** Milliseconds since the epoch. */
  now(): number
  /** Run `fn` once after `ms`; the timer does not keep the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/**
 * Node's clock and timers (unreferenced, so a tracker never keeps an app alive).
 *
 * @example
 * ```ts
 * const h = realTimers.setTimeout(() => console.log('later'), 1000)
 * realTimers.clearTimeout(h)
 * ```
 */
export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms)
    t.unref?.()
    return t
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout)
}
