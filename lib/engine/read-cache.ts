/**
 * A small per-torrent cache of recently read spans of verified pieces, for
 * uploading. Peers request 16 KiB blocks, mostly in order through a piece;
 * reading one span of the piece per run of requests (instead of one
 * positional read per block) cuts the thread-pool round trips eightfold, and
 * the blocks are answered as views into the span, without copies.
 *
 * Spans never cross a piece boundary: only pieces we have are ever read, and
 * verified pieces do not change, so a cached span is never stale.
 *
 * @internal
 * @module
 */

/** Bytes read at once from a piece (the span holding the requested block). */
export const READ_SPAN = 128 * 1024

/** Spans kept per torrent (READ_SPAN each: 4 MiB). */
export const READ_SPANS = 32

/** Reads `length` bytes at torrent offset `offset` into a fresh buffer. */
export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>

/**
 * LRU of piece spans in flight or read.
 *
 * @example
 * ```ts
 * const cache = new ReadCache((off, len) => storage.read(off, len), meta.pieceLength, meta.length)
 * const block = await cache.read(piece, 16384, 16384) // reads the piece's first 128 KiB once
 * ```
 */
export class ReadCache {
  /** Keyed by the span's torrent offset; Map order is recency (oldest first). */
  private readonly spans = new Map<number, Promise<Uint8Array>>()
  private readonly span: number

  constructor(
    private readonly readRange: RangeReader,
    private readonly pieceLength: number,
    private readonly totalLength: number,
    span = READ_SPAN,
    private readonly maxSpans = READ_SPANS
  ) {
    // A span is a whole number of 16 KiB blocks, and no longer than a piece.
    this.span = Math.max(16384, Math.min(span, pieceLength))
  }

  /**
   * The `length` bytes at `offset` inside `piece` (a view into the cached
   * span: the caller must not write to it). The range must lie inside the
   * piece (the torrent checks requests first).
   */
  read(piece: number, offset: number, length: number): Promise<Uint8Array> {
    const pieceStart = piece * this.pieceLength
    const spanStart = Math.floor(offset / this.span) * this.span
    // A block straddling two spans (odd offsets): read it alone.
    if (offset + length > spanStart + this.span) return this.readRange(pieceStart + offset, length)
    const key = pieceStart + spanStart
    let p = this.spans.get(key)
    if (p !== undefined) {
      this.spans.delete(key) // most recent last
      this.spans.set(key, p)
    } else {
      const pieceEnd = Math.min(pieceStart + this.pieceLength, this.totalLength)
      p = this.readRange(key, Math.min(this.span, pieceEnd - key))
      this.spans.set(key, p)
      const entry = p
      // A failed read must not stay cached.
      p.catch(() => {
        if (this.spans.get(key) === entry) this.spans.delete(key)
      })
      while (this.spans.size > this.maxSpans) this.spans.delete(this.spans.keys().next().value!)
    }
    const from = offset - spanStart
    return p.then((buf) => buf.subarray(from, from + length))
  }

  /** Drop every span (the torrent is closing). */
  clear(): void {
    this.spans.clear()
  }
}
