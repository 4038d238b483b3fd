/**
 * When a port mapping is asked for again: before its lease ends, or after a
 * failure with a growing back-off.
 *
 * - A lease of `lifetime` seconds granted at `at` is renewed at half its
 *   lifetime (RFC 6886's advice for NAT-PMP, which libtorrent follows for
 *   UPnP too), never sooner than `minRefresh` after it was granted: a router
 *   that grants a few seconds does not make us ask in a loop.
 * - A permanent lease (lifetime 0: routers that support no other) is never
 *   renewed; it is removed on close like any other.
 * - After the n-th failure in a row the next attempt waits
 *   `retryBase * 2^(n-1)`, at most `retryMax`.
 *
 * Pure: the caller passes the clock's readings in.
 *
 * @internal
 * @module
 */

/** The numbers of the policy (all milliseconds, the lease in seconds). */
export interface MappingPolicy {
  /** Lease asked of the router, seconds; default 3600 (libtorrent asks for an hour). */
  readonly lease: number
  /** Shortest time between a grant and its renewal; default 60 000. */
  readonly minRefresh: number
  /** First retry after a failure; default 30 000. */
  readonly retryBase: number
  /** Longest wait between retries; default 1 800 000 (30 min). */
  readonly retryMax: number
}

/** Defaults of {@link MappingPolicy}. */
export const defaultMappingPolicy: MappingPolicy = { lease: 3600, minRefresh: 60_000, retryBase: 30_000, retryMax: 1_800_000 }

/** Where a mapping stands, as far as the schedule cares. */
export type LeaseState =
  | { readonly kind: 'granted'; readonly at: number; readonly lifetime: number }
  | { readonly kind: 'failed'; readonly at: number; readonly failures: number }

/**
 * When to ask the router again (ms since the epoch), or null: never (a
 * permanent lease).
 *
 * @example
 * ```ts
 * nextAttempt({ kind: 'granted', at: 0, lifetime: 3600 }) // 1_800_000
 * nextAttempt({ kind: 'failed', at: 0, failures: 3 })      // 120_000
 * nextAttempt({ kind: 'granted', at: 0, lifetime: 0 })     // null
 * ```
 */
export const nextAttempt = (s: LeaseState, p: MappingPolicy = defaultMappingPolicy): number | null => {
  if (s.kind === 'granted') return s.lifetime === 0 ? null : s.at + Math.max(p.minRefresh, (s.lifetime * 1000) / 2)
  return s.at + retryDelay(s.failures, p)
}

/**
 * The wait after `failures` failures in a row (1 or more).
 *
 * @example
 * ```ts
 * retryDelay(1) // 30_000
 * retryDelay(20) // 1_800_000
 * ```
 */
export const retryDelay = (failures: number, p: MappingPolicy = defaultMappingPolicy): number =>
  Math.min(p.retryMax, p.retryBase * 2 ** Math.min(30, Math.max(0, failures - 1)))

/**
 * The state after an attempt at `at`: granted for `lifetime` seconds, or one more failure.
 *
 * @example
 * ```ts
 * let s = afterAttempt(undefined, 0, null)   // failed once
 * s = afterAttempt(s, 30_000, null)           // failed twice
 * s = afterAttempt(s, 90_000, 3600)           // granted
 * ```
 */
export const afterAttempt = (prev: LeaseState | undefined, at: number, lifetime: number | null): LeaseState =>
  lifetime !== null ? { kind: 'granted', at, lifetime } : { kind: 'failed', at, failures: prev?.kind === 'failed' ? prev.failures + 1 : 1 }
