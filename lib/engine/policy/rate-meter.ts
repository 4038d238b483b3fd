/**
 * Rate meters for the status dictionary: bytes per second smoothed over a
 * few seconds, so a single burst does not make the figure jump about.
 *
 * @internal
 * @module
 */

/**
 * A sliding-window byte rate: `add(n)` as bytes move, `rate()` for the
 * bytes/second over the last `windowMs` (default 5 s). One-second buckets keep
 * it O(1) per call; `now` is injectable for tests.
 *
 * @example
 * ```ts
 * const m = new RateMeter()
 * m.add(16384)
 * m.rate() // bytes per second over the window so far
 * ```
 */
export class RateMeter {
  private readonly buckets: number[]
  private readonly bucketMs = 1000
  private head = 0 // bucket index (absolute, in bucketMs units) of buckets[head % n]
  private readonly started: number
  total = 0

  constructor(
    private readonly windowMs = 5000,
    private readonly now: () => number = Date.now
  ) {
    this.buckets = new Array<number>(Math.max(1, Math.ceil(windowMs / this.bucketMs))).fill(0)
    this.started = now()
    this.head = Math.floor(this.started / this.bucketMs)
  }

  private advance(t: number): void {
    const idx = Math.floor(t / this.bucketMs)
    const n = this.buckets.length
    if (idx - this.head >= n) {
      this.buckets.fill(0)
    } else {
      for (let i = this.head + 1; i <= idx; i++) this.buckets[i % n] = 0
    }
    if (idx > this.head) this.head = idx
  }

  /** Count `bytes` moved now. */
  add(bytes: number): void {
    this.advance(this.now())
    this.buckets[this.head % this.buckets.length]! += bytes
    this.total += bytes
  }

  /** Bytes per second over the window (or since creation, if younger). */
  rate(): number {
    const t = this.now()
    this.advance(t)
    let sum = 0
    for (const b of this.buckets) sum += b
    // The current bucket is partly filled: divide by the time actually covered.
    const covered = Math.min(
      this.windowMs - this.bucketMs + (t % this.bucketMs) + 1,
      t - this.started + 1
    )
    return covered > 0 ? (sum * 1000) / Math.max(covered, 250) : 0
  }
}
