/**
 * Which of a torrent's files are verified in full, kept piece by piece: each
 * file counts the pieces under it not yet verified, and a verified piece
 * lowers the count of the files it overlaps (a handful), so telling which
 * files a piece completed costs nothing per file elsewhere.
 *
 * Pieces can also arrive without a `verified` call (the check at start, a
 * resume record set them all at once); the count of pieces seen against the
 * picker's count shows it, and the counts are then taken again from `has`.
 *
 * File indices out of here are user-facing: metainfo order, BEP 47 pad
 * files not counted.
 *
 * @internal
 * @module
 */
import type { SelectionGeometry } from './priorities.ts'

/** The piece state file completion reads. */
export interface CompletionPieces {
  /** True when piece `piece` is verified. */
  have(piece: number): boolean
  /** Verified pieces. */
  haveCount(): number
}

/**
 * The complete files of one torrent.
 *
 * @example
 * ```ts
 * const files = new FileCompletion({ files: meta.files, pieceLength: meta.pieceLength, pieceCount: meta.pieceCount }, picker)
 * picker.verified(7)
 * files.verified(7) // [2]: piece 7 was the last missing piece of file 2
 * files.complete()  // [0, 2]
 * ```
 */
export class FileCompletion {
  /** User index of each metainfo file; -1 for a pad file. */
  private readonly user: Int32Array
  /** First piece of each metainfo file, and one past its last (the same for an empty file). */
  private readonly first: Int32Array
  private readonly end: Int32Array
  /** Per metainfo file: pieces under it not yet verified. */
  private readonly left: Int32Array
  /** Per piece: counted as verified. */
  private readonly seen: Uint8Array
  /** Pieces counted; -1 before the first count. */
  private seenCount = -1

  constructor(
    private readonly geometry: SelectionGeometry,
    private readonly pieces: CompletionPieces
  ) {
    const { files, pieceLength, pieceCount } = geometry
    this.user = new Int32Array(files.length)
    this.first = new Int32Array(files.length)
    this.end = new Int32Array(files.length)
    this.left = new Int32Array(files.length)
    this.seen = new Uint8Array(pieceCount)
    let n = 0
    files.forEach((f, i) => {
      this.user[i] = f.pad ? -1 : n++
      this.first[i] = Math.min(pieceCount, Math.floor(f.offset / pieceLength))
      // an empty file covers no piece: its end is its first
      this.end[i] = f.length === 0 ? this.first[i]! : Math.min(pieceCount, Math.floor((f.offset + f.length - 1) / pieceLength) + 1)
    })
  }

  /**
   * Piece `piece` is verified (the picker already counts it): the files it
   * completed, ascending (user indices; pad files never appear).
   */
  verified(piece: number): number[] {
    if (piece < 0 || piece >= this.seen.length) return []
    if (this.seenCount < 0 || this.seenCount + (this.seen[piece] === 1 ? 0 : 1) !== this.pieces.haveCount()) return this.recount()
    if (this.seen[piece] === 1) return []
    this.seen[piece] = 1
    this.seenCount++
    const out: number[] = []
    for (let i = this.firstFileAt(piece); i < this.geometry.files.length && this.first[i]! <= piece; i++) {
      if (this.end[i]! <= piece) continue // an empty file at the piece's start
      if (--this.left[i] === 0 && this.user[i]! >= 0) out.push(this.user[i]!)
    }
    return out
  }

  /** The files whose every piece is verified, ascending (user indices; empty files included). */
  complete(): number[] {
    if (this.seenCount !== this.pieces.haveCount()) this.recount()
    const out: number[] = []
    for (let i = 0; i < this.user.length; i++) if (this.user[i]! >= 0 && this.left[i] === 0) out.push(this.user[i]!)
    return out
  }

  /** True when file `user` (user index) is complete. */
  isComplete(user: number): boolean {
    if (this.seenCount !== this.pieces.haveCount()) this.recount()
    const i = this.user.indexOf(user)
    return i >= 0 && this.left[i] === 0
  }

  /** Counts again from the piece state; returns the files that became complete by it. */
  private recount(): number[] {
    const had = this.seenCount < 0 ? null : this.left.slice()
    this.seenCount = 0
    for (let p = 0; p < this.seen.length; p++) {
      const v = this.pieces.have(p) ? 1 : 0
      this.seen[p] = v
      this.seenCount += v
    }
    const out: number[] = []
    for (let i = 0; i < this.user.length; i++) {
      let left = 0
      for (let p = this.first[i]!; p < this.end[i]!; p++) if (this.seen[p] === 0) left++
      this.left[i] = left
      if (left === 0 && this.user[i]! >= 0 && (had === null || had[i] !== 0)) out.push(this.user[i]!)
    }
    return out
  }

  /** The first metainfo file whose last piece is `piece` or later (files are in offset order). */
  private firstFileAt(piece: number): number {
    let lo = 0
    let hi = this.end.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      // an empty file has end === first; treat it as ending at its first piece
      if (Math.max(this.end[mid]!, this.first[mid]! + 1) <= piece) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
