/**
 * The backoff rule for one web seed: after a failed fetch it rests for a
 * doubling time (longer when the server asked for it with Retry-After), a
 * success resets that, and a web seed is dropped for good when its URL
 * cannot be built safely or once bytes it sent fail the hash check (an
 * honest server never does that; peers and other seeds carry on).
 *
 * Pure: the caller gives it the clock.
 *
 * @internal
 * @module
 */

/** Options of {@link WebSeedHealth}. */
export interface WebSeedHealthOptions {
  /** First rest after a failure (ms, default 2 s). */
  readonly baseMs?: number
  /** Longest rest (ms, default 5 min). */
  readonly maxMs?: number
  /** Hash failures before the seed is dropped (default 1). */
  readonly maxBadPieces?: number
}

/** What a failure was, as far as backoff cares. */
export interface WebSeedFailure {
  /** `refused` drops the seed; anything else rests it. */
  readonly kind: string
  /** The server's Retry-After (ms). */
  readonly retryAfterMs?: number
}

/**
 * Health of one web seed.
 *
 * @example
 * ```ts
 * const h = new WebSeedHealth()
 * h.failed({ kind: 'busy' }, now)
 * h.ready(now)          // false: resting for 2 s
 * h.ready(now + 2000)   // true
 * h.badData()           // dropped
 * ```
 */
export class WebSeedHealth {
  private failures = 0
  private restUntil = 0
  private bad = 0
  private gone: string | null = null
  private readonly baseMs: number
  private readonly maxMs: number
  private readonly maxBad: number

  constructor(opts: WebSeedHealthOptions = {}) {
    this.baseMs = opts.baseMs ?? 2000
    this.maxMs = opts.maxMs ?? 300_000
    this.maxBad = opts.maxBadPieces ?? 1
  }

  /** May a fetch start now? */
  ready(now: number): boolean {
    return this.gone === null && now >= this.restUntil
  }

  /** Why the seed was dropped, or null while it is in use. */
  get dropped(): string | null {
    return this.gone
  }

  /** Consecutive failures since the last success. */
  get consecutiveFailures(): number {
    return this.failures
  }

  /** When the current rest ends (ms since epoch; 0 when not resting). */
  get restingUntil(): number {
    return this.restUntil
  }

  /** A fetch succeeded (its bytes are yet to be checked). */
  succeeded(): void {
    this.failures = 0
    this.restUntil = 0
  }

  /** A fetch failed at `now`. */
  failed(failure: WebSeedFailure, now: number): void {
    if (failure.kind === 'refused') {
      this.gone = 'its URL cannot be built safely'
      return
    }
    if (failure.kind === 'aborted') return
    this.failures++
    const doubling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(30, this.failures - 1))
    this.restUntil = now + Math.min(this.maxMs, Math.max(doubling, failure.retryAfterMs ?? 0))
  }

  /** A piece it sent failed the hash check. */
  badData(): void {
    this.bad++
    if (this.bad >= this.maxBad) this.gone = `${this.bad} piece(s) it sent failed the hash check`
  }
}
