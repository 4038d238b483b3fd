/**
 * Byte-rate limits as pure token buckets: the caller passes the time, asks
 * before moving bytes, and waits the returned number of milliseconds when
 * the answer is not 0. No timers here, so the limits are testable over
 * simulated time and the engine decides how to wait.
 *
 * Semantics (a classic token bucket): tokens are bytes, refilled at `rate`
 * per second up to `burst`. A take of `n <= burst` bytes is allowed when
 * `n` tokens are there; a take larger than the burst is allowed when the
 * bucket is full and leaves it in debt, so nothing is ever refused forever
 * and the long-run rate is still exact. A refused take charges nothing: the
 * caller asks again after the wait (whoever asks first then wins, so keep
 * one FIFO per torrent rather than one waiter per peer).
 *
 * @module
 */

/**
 * Smallest default burst: four 16 KiB blocks (or one 64 KiB), so a bucket
 * kept waiting by another one (a torrent behind its client) has room to
 * save up rather than losing its refill.
 */
const MIN_DEFAULT_BURST = 65536

/** Default burst, in seconds of the rate: smooth at low rates, few timers at high ones. */
const DEFAULT_BURST_SECONDS = 0.25

/** Float slack so a take after exactly the advised wait is not refused by rounding. */
const EPSILON = 1e-6

/**
 * An option value to a rate: `undefined`, 0, negative or NaN mean "no limit"
 * (Infinity), as in the engine's options.
 *
 * @example
 * ```ts
 * new TokenBucket(limitToRate(options.uploadRateLimit))
 * ```
 */
export const limitToRate = (limit: number | undefined): number => (limit !== undefined && limit > 0 ? limit : Infinity)

/**
 * A token bucket for bytes per second.
 *
 * @example
 * ```ts
 * const up = new TokenBucket(1_000_000) // 1 MB/s, burst 250 kB
 * const wait = up.take(16384, Date.now())
 * if (wait === 0) send()
 * else setTimeout(retry, wait)
 * ```
 */
export class TokenBucket {
  private r: number
  private b: number
  private readonly fixedBurst: boolean
  private tokens: number
  /** Time of the last refill; NaN until first used (the bucket starts full). */
  private last = NaN

  /**
   * @param rate bytes per second, `> 0`; `Infinity` means unlimited.
   * @param burst most bytes that may pass at once after a quiet spell;
   *   default a quarter second of the rate, at least 64 KiB.
   * @throws RangeError on a rate that is not > 0, or a burst that is not > 0 and finite.
   */
  constructor(rate: number, burst?: number) {
    checkRate(rate)
    if (burst !== undefined && !(burst > 0 && Number.isFinite(burst))) {
      throw new RangeError(`burst must be a finite number > 0, got ${burst}`)
    }
    this.r = rate
    this.fixedBurst = burst !== undefined
    this.b = burst ?? defaultBurst(rate)
    this.tokens = this.b
  }

  /** Bytes per second (Infinity: unlimited). */
  get rate(): number {
    return this.r
  }

  /** Bucket size in bytes (Infinity when unlimited with no explicit burst). */
  get burst(): number {
    return this.b
  }

  /**
   * Ask to move `bytes` now. Returns 0 and charges the bucket when allowed;
   * otherwise charges nothing and returns the milliseconds after which the
   * same take would be allowed (if nobody else takes meanwhile). Whole
   * milliseconds, rounded up, so a timer of that length suffices.
   */
  take(bytes: number, now: number): number {
    const wait = this.delay(bytes, now)
    if (wait === 0) this.charge(bytes, now)
    return wait
  }

  /** Like {@link TokenBucket.take} but never charges: the wait before `bytes` could pass. */
  delay(bytes: number, now: number): number {
    if (this.r === Infinity || !(bytes > 0)) return 0
    const behind = this.refill(now)
    const need = Math.min(bytes, this.b)
    if (this.tokens >= need - EPSILON) return behind > 0 ? Math.ceil(behind) : 0
    return Math.ceil(behind + ((need - this.tokens) * 1000) / this.r)
  }

  /**
   * Count `bytes` that moved without asking (or that must be paid for
   * anyway): the bucket may go into debt, which later takes wait out.
   */
  charge(bytes: number, now: number): void {
    if (this.r === Infinity || !(bytes > 0)) return
    this.refill(now)
    this.tokens -= bytes
  }

  /** Tokens (bytes) available now; negative while in debt; Infinity when unlimited. */
  available(now: number): number {
    if (this.r === Infinity) return Infinity
    this.refill(now)
    return this.tokens
  }

  /**
   * Change the rate. Pass `now` so the tokens earned so far are counted at
   * the old rate; without it they are counted at the new one on next use.
   * A default burst follows the new rate; the bucket never holds more than
   * its burst. Going from unlimited to limited starts with a full bucket.
   *
   * @throws RangeError on a rate that is not > 0.
   */
  setRate(rate: number, now?: number): void {
    checkRate(rate)
    if (now !== undefined && this.r !== Infinity) this.refill(now)
    const wasUnlimited = this.r === Infinity
    this.r = rate
    if (!this.fixedBurst) this.b = defaultBurst(rate)
    if (wasUnlimited) {
      this.tokens = this.b
      this.last = now ?? NaN
    } else {
      this.tokens = Math.min(this.tokens, this.b)
    }
  }

  /**
   * Bring the tokens up to `now`. Returns how far `now` lies before the last
   * refill (a clock that went back, or callers with skewed clocks): that
   * much is added to any wait rather than refilling backwards.
   */
  private refill(now: number): number {
    if (Number.isNaN(this.last)) {
      this.last = now
      return 0
    }
    if (now < this.last) return this.last - now
    this.tokens = Math.min(this.b, this.tokens + ((now - this.last) * this.r) / 1000)
    this.last = now
    return 0
  }
}

/**
 * Two buckets that must both allow: one shared by the whole client, one of
 * the torrent. Make one per torrent and direction, over the client's shared
 * bucket for that direction. A refused take charges neither bucket, so a
 * torrent held back by its own limit does not eat the client's budget.
 *
 * @example
 * ```ts
 * const clientUp = new TokenBucket(limitToRate(opts.uploadRateLimitClient))
 * const up = new Throttle(clientUp, new TokenBucket(limitToRate(opts.uploadRateLimit)))
 * const wait = up.take(16384, Date.now()) // 0: send now; else retry after `wait` ms
 * ```
 */
export class Throttle {
  constructor(
    readonly client: TokenBucket,
    readonly torrent: TokenBucket
  ) {}

  /** 0 and both buckets charged when both allow; else the longer wait, nothing charged. */
  take(bytes: number, now: number): number {
    const wait = this.delay(bytes, now)
    if (wait === 0) this.charge(bytes, now)
    return wait
  }

  /** The wait before `bytes` could pass both buckets; charges nothing. */
  delay(bytes: number, now: number): number {
    return Math.max(this.client.delay(bytes, now), this.torrent.delay(bytes, now))
  }

  /** Charge both buckets unconditionally (may leave them in debt). */
  charge(bytes: number, now: number): void {
    this.client.charge(bytes, now)
    this.torrent.charge(bytes, now)
  }

  /** The smaller of the two buckets' tokens. */
  available(now: number): number {
    return Math.min(this.client.available(now), this.torrent.available(now))
  }
}

function checkRate(rate: number): void {
  if (!(rate > 0)) throw new RangeError(`rate must be > 0 bytes/s (Infinity for none), got ${rate}`)
}

function defaultBurst(rate: number): number {
  return Math.max(MIN_DEFAULT_BURST, rate * DEFAULT_BURST_SECONDS)
}

/**
 * A torrent's throttle for one direction: the client's shared bucket
 * (unlimited when absent) and the torrent's own limit (bytes/s; 0 or
 * undefined: none).
 *
 * @example
 * ```ts
 * const down = torrentThrottle(clientDown, 1 << 20)
 * ```
 */
export const torrentThrottle = (client: TokenBucket | undefined, limit: number | undefined): Throttle =>
  new Throttle(client ?? new TokenBucket(Infinity), new TokenBucket(limitToRate(limit)))
