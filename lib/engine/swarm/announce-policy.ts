/**
 * When a torrent talks to a tracker: the interval after a good announce (the
 * tracker's `interval`, never below its `min interval` nor below a floor), a
 * doubling, capped back-off after failures, the earliest moment an extra
 * announce may go out, how long a BEP 15 connection id stays usable, and the
 * BEP 15 retransmission timer (15 * 2^n seconds).
 *
 * Pure: every function takes the clock's reading as an argument.
 *
 * @internal
 * @module
 */

/** Interval used when a tracker names none (ms): libtorrent's and Transmission's 30 min. */
export const DEFAULT_INTERVAL_MS = 30 * 60 * 1000

/** Shortest interval honoured, whatever a tracker says (ms). */
export const MIN_INTERVAL_FLOOR_MS = 1000

/** Longest interval honoured (ms): a tracker asking for more is re-asked after a day anyway. */
export const MAX_INTERVAL_MS = 24 * 60 * 60 * 1000

/** An extra announce (the torrent ran short of peers) waits at least this long after the last one (ms). */
export const EARLY_ANNOUNCE_FLOOR_MS = 10_000

/** BEP 15: a client may use a connection id for one minute after receiving it. */
export const CONNECTION_ID_LIFETIME_MS = 60_000

/** BEP 15: the first retransmission after 15 s, doubling after each. */
export const UDP_RETRANSMIT_BASE_MS = 15_000

/** BEP 15: n grows up to 8 (3840 s). */
export const UDP_MAX_RETRANSMIT_N = 8

/** What the policy knows of one tracker. */
export interface AnnounceState {
  /** Consecutive failed announces. */
  readonly failures: number
  /** When the last announce was sent (ms), if any. */
  readonly lastAt?: number
  /** The tracker's `min interval` (ms), if it gave one. */
  readonly minIntervalMs?: number
}

/** Interval fields of a tracker's answer, in seconds, as given. */
export interface IntervalAnswer {
  readonly interval?: number
  readonly minInterval?: number
}

/**
 * Milliseconds until the next regular announce after a good one.
 *
 * @example
 * ```ts
 * regularDelay({ interval: 1800 })                  // 1_800_000
 * regularDelay({ interval: 0 })                     // 1000 (the floor)
 * regularDelay({ interval: 60, minInterval: 300 })  // 300_000
 * regularDelay({})                                  // 1_800_000
 * ```
 */
export const regularDelay = (answer: IntervalAnswer): number => {
  const given = answer.interval !== undefined ? answer.interval * 1000 : DEFAULT_INTERVAL_MS
  const min = answer.minInterval !== undefined ? answer.minInterval * 1000 : 0
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_FLOOR_MS, given, min))
}

/**
 * Milliseconds until a retry after `failures` consecutive failures: `baseMs`
 * doubling, never more than `maxMs`.
 *
 * @example
 * ```ts
 * retryDelay(1, 5000, 300_000) // 5000
 * retryDelay(3, 5000, 300_000) // 20_000
 * retryDelay(20, 5000, 300_000) // 300_000
 * ```
 */
export const retryDelay = (failures: number, baseMs: number, maxMs: number): number =>
  Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, failures - 1)))

/**
 * The earliest time (ms) an extra announce may go out: never while the
 * tracker is failing (its back-off decides), never sooner than its
 * `min interval` or {@link EARLY_ANNOUNCE_FLOOR_MS} after the last one.
 * Null when it must wait for its back-off.
 *
 * @example
 * ```ts
 * earliestExtra({ failures: 0, lastAt: 1000 }, 2000)                        // 11_000
 * earliestExtra({ failures: 0, lastAt: 1000, minIntervalMs: 60_000 }, 2000) // 61_000
 * earliestExtra({ failures: 2, lastAt: 1000 }, 2000)                        // null
 * ```
 */
export const earliestExtra = (state: AnnounceState, now: number): number | null => {
  if (state.failures > 0) return null
  if (state.lastAt === undefined) return now
  return Math.max(now, state.lastAt + Math.max(EARLY_ANNOUNCE_FLOOR_MS, state.minIntervalMs ?? 0))
}

/**
 * Is a connection id received at `receivedAt` still usable at `now`?
 *
 * @example
 * ```ts
 * connectionIdValid(0, 59_999) // true
 * connectionIdValid(0, 60_000) // false
 * ```
 */
export const connectionIdValid = (receivedAt: number, now: number): boolean =>
  now >= receivedAt && now - receivedAt < CONNECTION_ID_LIFETIME_MS

/**
 * BEP 15's wait (ms) before retransmission number `n + 1`: `baseMs * 2^n`,
 * n capped at {@link UDP_MAX_RETRANSMIT_N}.
 *
 * @example
 * ```ts
 * udpRetransmitDelay(0) // 15_000
 * udpRetransmitDelay(3) // 120_000
 * udpRetransmitDelay(12) // 3_840_000
 * ```
 */
export const udpRetransmitDelay = (n: number, baseMs: number = UDP_RETRANSMIT_BASE_MS): number =>
  baseMs * 2 ** Math.min(UDP_MAX_RETRANSMIT_N, Math.max(0, n))

/** Transmissions of one UDP announce before it counts as failed (BEP 15's n = 0..3). */
export const UDP_ANNOUNCE_TRANSMISSIONS = 4

/**
 * How long (ms) a UDP request waits in all for `transmissions` sends on
 * BEP 15's timer: the sum of their waits.
 *
 * @example
 * ```ts
 * udpGiveUpAfter(4) // 225_000 (15 + 30 + 60 + 120 s)
 * udpGiveUpAfter(1, 500) // 500
 * ```
 */
export const udpGiveUpAfter = (transmissions: number, baseMs: number = UDP_RETRANSMIT_BASE_MS): number => {
  let total = 0
  for (let n = 0; n < transmissions; n++) total += udpRetransmitDelay(n, baseMs)
  return total
}
