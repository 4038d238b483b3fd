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

/** Fills `target` with the bytes at torrent offset `offset`. */
export type IntoReader = (offset: number, target: Uint8Array) => Promise<unknown>

/** A block of a span, held until `release` (after which its memory may be reused). */
export interface Lease {
  readonly data: Uint8Array
  readonly release: () => void
}

/** Span buffers kept for reuse (each READ_SPAN bytes). */
const POOL = 8

interface Span {
  readonly data: Promise<Uint8Array>
  /** The pooled buffer under `data`, when the span may be recycled. */
  backing: Uint8Array | null
  /** Leases not yet released. */
  refs: number
  evicted: boolean
}

const NOTHING = (): void => {}

/**
 * LRU of piece spans in flight or read. With an {@link IntoReader}, span
 * buffers are recycled once a span has left the cache and every lease of it
 * is released (fresh buffers for every span read made V8 run a mark-compact
 * per ~12 MiB uploaded, for the external memory).
 *
 * @example
 * ```ts
 * const cache = new ReadCache((off, len) => storage.read(off, len), meta.pieceLength, meta.length)
 * const block = await cache.read(piece, 16384, 16384) // reads the piece's first 128 KiB once
 * ```
 */
export class ReadCache {
  /** Keyed by the span's torrent offset; Map order is recency (oldest first). */
  private readonly spans = new Map<number, Span>()
  private readonly pool: Uint8Array[] = []
  private readonly span: number

  constructor(
    private readonly readRange: RangeReader,
    private readonly pieceLength: number,
    private readonly totalLength: number,
    span = READ_SPAN,
    private readonly maxSpans = READ_SPANS,
    private readonly readInto?: IntoReader
  ) {
    // A span is a whole number of 16 KiB blocks, and no longer than a piece.
    this.span = Math.max(16384, Math.min(span, pieceLength))
  }

  /**
   * The `length` bytes at `offset` inside `piece` (a view into the cached
   * span: the caller must not write to it; its memory is never reused). The
   * range must lie inside the piece (the torrent checks requests first).
   */
  read(piece: number, offset: number, length: number): Promise<Uint8Array> {
    // Never released: the span's buffer is simply never recycled.
    return this.lease(piece, offset, length).then((l) => l.data)
  }

  /**
   * Like {@link read}, but the span's memory may be reused once every lease
   * of it is released: call `release` only when nothing refers to `data` any
   * more (e.g. the socket has written it). Not releasing is safe (no reuse).
   */
  lease(piece: number, offset: number, length: number): Promise<Lease> {
    const pieceStart = piece * this.pieceLength
    const spanStart = Math.floor(offset / this.span) * this.span
    // A block straddling two spans (odd offsets): read it alone.
    if (offset + length > spanStart + this.span)
      return this.readRange(pieceStart + offset, length).then((data) => ({ data, release: NOTHING }))
    const key = pieceStart + spanStart
    let entry = this.spans.get(key)
    if (entry !== undefined) {
      this.spans.delete(key) // most recent last
      this.spans.set(key, entry)
    } else {
      const pieceEnd = Math.min(pieceStart + this.pieceLength, this.totalLength)
      entry = this.load(key, Math.min(this.span, pieceEnd - key))
      this.spans.set(key, entry)
      const loaded = entry
      // A failed read must not stay cached (nor its buffer be reused).
      loaded.data.catch(() => {
        loaded.backing = null
        if (this.spans.get(key) === loaded) this.spans.delete(key)
      })
      while (this.spans.size > this.maxSpans) {
        const [oldKey, old] = this.spans.entries().next().value!
        this.spans.delete(oldKey)
        old.evicted = true
        this.recycle(old)
      }
    }
    const span = entry
    span.refs++
    const from = offset - spanStart
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      span.refs--
      this.recycle(span)
    }
    return span.data.then((buf) => ({ data: buf.subarray(from, from + length), release }))
  }

  /** Drop every span (the torrent is closing); nothing is recycled after this. */
  clear(): void {
    this.spans.clear()
    this.pool.length = 0
  }

  private load(key: number, length: number): Span {
    if (this.readInto === undefined) return { data: this.readRange(key, length), backing: null, refs: 0, evicted: false }
    const backing = this.pool.pop() ?? Buffer.allocUnsafeSlow(this.span)
    const target = backing.subarray(0, length)
    const span: Span = { data: this.readInto(key, target).then(() => target), backing, refs: 0, evicted: false }
    return span
  }

  private recycle(span: Span): void {
    if (!span.evicted || span.refs > 0 || span.backing === null) return
    const buf = span.backing
    span.backing = null
    // Only after the read settled (a pending read still writes into it).
    void span.data.then(
      () => {
        if (this.pool.length < POOL) this.pool.push(buf)
      },
      () => {}
    )
  }
}
