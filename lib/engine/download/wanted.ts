/**
 * Which pieces the picker is to fetch, and in which order beyond rarity:
 * each piece's rank (0 skip .. 3 high, from download/priorities.ts) and the
 * pieces readers need next (download/deadlines.ts). A piece nothing wants is
 * parked: out of the picker's fresh pool and not counted as missing, so
 * endgame and completion are about wanted pieces only. A critical piece is
 * fetched even if its file is skipped (a reader asked for it), then parked
 * again if it is still fresh when no reader needs it.
 *
 * Pure bookkeeping for download/picker.ts, which hands it a pool to move
 * pieces in and out of.
 *
 * @internal
 * @module
 */

/** The picker's fresh pool, as this module moves pieces in and out of it. */
export interface FreshPool {
  /** Whether piece `p` is verified. */
  have(p: number): boolean
  /** Whether piece `p` is in progress (or awaiting its hash check). */
  active(p: number): boolean
  /** Puts `p` back among the fresh pieces and counts its blocks as missing. */
  enter(p: number): void
  /** Takes fresh `p` out and stops counting its blocks as missing. */
  leave(p: number): void
}

/** Rank of a piece nobody set: normal. */
export const NORMAL_RANK = 2

/**
 * Ranks, parked pieces and the critical list of one torrent.
 *
 * @example
 * ```ts
 * const w = new WantedPieces(pieceCount, pool)
 * w.setRank(3, 0)       // piece 3 skipped: parked unless in progress or verified
 * w.setCritical([7, 8]) // a reader needs 7 then 8
 * w.complete()          // every wanted piece verified?
 * ```
 */
export class WantedPieces {
  private readonly ranks: Uint8Array
  private readonly parked: Uint8Array
  private criticalList: readonly number[] = []
  private readonly criticalSet = new Set<number>()
  /** Pieces ranked above skip and not verified. */
  private missingWanted: number
  /** Some piece is ranked low or high: the picker orders fresh pieces by rank. */
  private mixedRanks = false

  constructor(
    private readonly pieceCount: number,
    private readonly pool: FreshPool
  ) {
    this.ranks = new Uint8Array(pieceCount).fill(NORMAL_RANK)
    this.parked = new Uint8Array(pieceCount)
    this.missingWanted = pieceCount
  }

  /** Rank of piece `p`. */
  rank(p: number): number {
    return this.ranks[p] ?? 0
  }

  /** True when fresh pieces differ in rank (the picker then tries high, normal, low in turn). */
  mixed(): boolean {
    return this.mixedRanks
  }

  /** True when `p` is parked (the picker must not treat it as fresh). */
  isParked(p: number): boolean {
    return this.parked[p] === 1
  }

  /** Whether the torrent still needs `p` from peers (missing, and wanted or needed by a reader). */
  wants(p: number): boolean {
    return Number.isInteger(p) && p >= 0 && p < this.pieceCount && !this.pool.have(p) && (this.ranks[p]! > 0 || this.criticalSet.has(p))
  }

  /** Every piece ranked above skip is verified. */
  complete(): boolean {
    return this.missingWanted === 0
  }

  /** The critical pieces, earliest deadline first. */
  critical(): readonly number[] {
    return this.criticalList
  }

  /** Sets piece `p`'s rank (0 skip .. 3 high, download/priorities.ts), parking or unparking it. */
  setRank(p: number, rank: number): void {
    if (!Number.isInteger(p) || p < 0 || p >= this.pieceCount) return
    const before = this.ranks[p]!
    if (before === rank) return
    const have = this.pool.have(p)
    if (!have) this.missingWanted += (rank > 0 ? 1 : 0) - (before > 0 ? 1 : 0)
    this.ranks[p] = rank
    if (rank !== NORMAL_RANK && rank !== 0) this.mixedRanks = true
    if (have) return
    if (rank === 0 && !this.criticalSet.has(p)) this.park(p)
    else if (rank > 0) this.unpark(p)
  }

  /** The pieces readers need next (earliest first); a skipped one among them is fetched all the same. */
  setCritical(pieces: readonly number[]): void {
    const old = this.criticalList
    this.criticalList = pieces.filter((p) => Number.isInteger(p) && p >= 0 && p < this.pieceCount)
    this.criticalSet.clear()
    for (const p of this.criticalList) {
      this.criticalSet.add(p)
      if (!this.pool.have(p)) this.unpark(p)
    }
    // skipped pieces no reader needs any more go back to the parking, unless started
    for (const p of old) if (!this.criticalSet.has(p) && this.ranks[p] === 0 && !this.pool.have(p)) this.park(p)
  }

  /** Piece `p` verified (the picker took it out of its pool itself). */
  verified(p: number): void {
    if (this.ranks[p]! > 0) this.missingWanted--
    this.parked[p] = 0
  }

  /**
   * Piece `p` is missing again (hash failure or lost data); `wasHave` when it
   * had been verified. Returns true when the picker must not put it back
   * among the fresh pieces (nothing wants it: it is parked instead).
   */
  lost(p: number, wasHave: boolean): boolean {
    if (wasHave && this.ranks[p]! > 0) this.missingWanted++
    if (this.ranks[p] === 0 && !this.criticalSet.has(p)) {
      this.parked[p] = 1
      return true
    }
    return false
  }

  private park(p: number): void {
    if (this.parked[p] === 1 || this.pool.active(p)) return
    this.pool.leave(p)
    this.parked[p] = 1
  }

  private unpark(p: number): void {
    if (this.parked[p] !== 1) return
    this.parked[p] = 0
    this.pool.enter(p)
  }
}
