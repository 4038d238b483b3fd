/**
 * Pieces just verified, kept in memory for the readers about to read them:
 * the piece buffer the assembly hashed is handed over as it settles (no
 * copy), and a reader's read of it is a view into that buffer instead of a
 * disk read. Only verified pieces ever enter, and nothing writes to them
 * after: a view is never of unverified bytes, and never changes.
 *
 * Bounded by bytes; the torrent's readers decide what stays (a piece no
 * reader's window covers any more is let go).
 *
 * @internal
 * @module
 */

/** Most bytes of pieces kept for readers per torrent. */
export const FRESH_BYTES = 16 << 20

/**
 * Verified pieces held for readers.
 *
 * @example
 * ```ts
 * const fresh = new FreshPieces(meta.pieceLength)
 * fresh.add(7, buffer)                          // piece 7 verified, its buffer given away
 * fresh.read(7 * meta.pieceLength + 100, 4096)  // a view, or null when not held
 * fresh.keep((p) => readersNeed(p))             // readers moved on
 * ```
 */
export class FreshPieces {
  private readonly pieces = new Map<number, Uint8Array>()
  private held = 0

  constructor(
    private readonly pieceLength: number,
    private readonly maxBytes = FRESH_BYTES
  ) {}

  /** Keeps verified piece `piece`'s bytes, unless that would pass the bound; true when kept. */
  add(piece: number, bytes: Uint8Array): boolean {
    if (this.pieces.has(piece) || this.held + bytes.length > this.maxBytes) return false
    this.pieces.set(piece, bytes)
    this.held += bytes.length
    return true
  }

  /**
   * The `length` bytes at torrent offset `offset`, as a view into a held
   * piece (do not write to it); null when the piece is not held or the range
   * leaves it.
   */
  read(offset: number, length: number): Uint8Array | null {
    const piece = Math.floor(offset / this.pieceLength)
    const bytes = this.pieces.get(piece)
    if (bytes === undefined) return null
    const from = offset - piece * this.pieceLength
    if (from + length > bytes.length) return null
    return bytes.subarray(from, from + length)
  }

  /** True when `length` more bytes fit. */
  room(length: number): boolean {
    return this.held + length <= this.maxBytes
  }

  /** True when piece `piece` is held. */
  has(piece: number): boolean {
    return this.pieces.has(piece)
  }

  /** Lets go of every piece `wanted` says no to. */
  keep(wanted: (piece: number) => boolean): void {
    for (const [piece, bytes] of this.pieces) {
      if (wanted(piece)) continue
      this.pieces.delete(piece)
      this.held -= bytes.length
    }
  }

  /** Bytes held. */
  bytes(): number {
    return this.held
  }

  /** Pieces held. */
  size(): number {
    return this.pieces.size
  }
}
