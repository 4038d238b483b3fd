/**
 * Swarm availability of a torrent's pieces, and the fresh pieces (neither
 * verified nor in progress) kept in buckets by availability, so the rarest
 * can be found without sorting: an array per availability plus each piece's
 * position in it, so a piece moves between buckets in O(1).
 *
 * @internal
 * @module
 */

/**
 * Availability counts and rarity buckets.
 *
 * @example
 * ```ts
 * const r = new RarityBuckets(4)
 * for (let p = 0; p < 4; p++) r.insert(p)
 * r.change(2, 1)                            // a peer has piece 2
 * [...r.rarestFirst(Math.random)]           // [2, then 0, 1, 3 from a random start]: known availability first
 * ```
 */
export class RarityBuckets {
  private readonly avail: Int32Array
  /** Fresh pieces by availability. */
  private readonly buckets: number[][] = [[]]
  /** Index of a piece in its bucket, -1 when it is in none. */
  private readonly pos: Int32Array

  constructor(pieceCount: number) {
    this.avail = new Int32Array(pieceCount)
    this.pos = new Int32Array(pieceCount).fill(-1)
  }

  /** How many connected peers have `piece`. */
  of(piece: number): number {
    return this.avail[piece]!
  }

  /** `delta` more (or fewer) peers have `piece`; never below 0. */
  change(p: number, delta: number): void {
    const before = this.avail[p]!
    const after = Math.max(0, before + delta)
    if (after === before) return
    const inBucket = this.pos[p]! >= 0
    if (inBucket) this.remove(p)
    this.avail[p] = after
    if (inBucket) this.insert(p)
  }

  /** Whether `p` is fresh (in a bucket). */
  has(p: number): boolean {
    return this.pos[p]! >= 0
  }

  /** `p` is fresh (again). Idempotent. */
  insert(p: number): void {
    if (this.pos[p]! >= 0) return
    const a = this.avail[p]!
    while (this.buckets.length <= a) this.buckets.push([])
    const bucket = this.buckets[a]!
    this.pos[p] = bucket.length
    bucket.push(p)
  }

  /** `p` is no longer fresh (started or verified). Idempotent. */
  remove(p: number): void {
    const pos = this.pos[p]!
    if (pos < 0) return
    const bucket = this.buckets[this.avail[p]!]!
    const last = bucket.pop()!
    if (last !== p) {
      bucket[pos] = last
      this.pos[last] = pos
    }
    this.pos[p] = -1
  }

  /**
   * Fresh pieces, rarest first, each bucket from a random start; pieces no
   * peer is known to have come last (the caller's counts may lag behind what
   * a peer told it). Do not insert or remove while iterating.
   */
  *rarestFirst(rng: () => number): Generator<number> {
    for (let a = 1; a < this.buckets.length; a++) yield* this.scan(this.buckets[a]!, rng)
    yield* this.scan(this.buckets[0]!, rng)
  }

  private *scan(bucket: number[], rng: () => number): Generator<number> {
    const n = bucket.length
    if (n === 0) return
    const start = Math.floor(rng() * n) % n
    for (let i = 0; i < n; i++) yield bucket[(start + i) % n]!
  }
}
