/**
 * The streaming window: pieces a reader needs next, each with a deadline, so
 * the picker fetches them before anything else (libtorrent's
 * `set_piece_deadline`, WebTorrent's critical pieces). Pure bookkeeping with
 * an injected clock, no IO and no timers.
 *
 * Each reader has a byte range and a read position. Its window is the
 * missing pieces from the position on, as many as the download delivers in
 * `lookaheadMs` at the current rate (at least `minPieces`, at most
 * `maxPieces`), never past the end of its range. The j-th piece of a window
 * is due j piece-times from now. A seek is a move of the position; a reader
 * that is closed, or that has not moved for `idleMs`, has no window, so when
 * readers stop the torrent goes back to its normal order.
 *
 * @module
 */

/** Construction options of {@link DeadlineWindow}. */
export interface DeadlineOptions {
  /** Bytes per piece (all but the last). */
  readonly pieceLength: number
  /** Number of pieces. */
  readonly pieceCount: number
  /** Milliseconds on any monotonic clock (inject a fake one in tests). */
  readonly now: () => number
  /** Time of download the window covers at the current rate; default 4000 ms. */
  readonly lookaheadMs?: number
  /** Fewest pieces in a window; default 2. */
  readonly minPieces?: number
  /** Most pieces in a window; default 64. */
  readonly maxPieces?: number
  /** A reader that has not moved for this long has no window; default 30000 ms. */
  readonly idleMs?: number
}

/**
 * One piece of the window: fetch it by `deadline` (ms on the injected clock).
 *
 * @example
 * ```ts
 * const next: PieceDeadline = { piece: 42, deadline: performance.now() + 250 }
 * ```
 */
export interface PieceDeadline {
  /** Piece index. */
  readonly piece: number
  /** When the reader needs it. */
  readonly deadline: number
}

interface Reader {
  position: number
  readonly end: number
  lastMove: number
}

/** Rate assumed while nothing is measured yet, bytes/s (only spaces out deadlines). */
const NOMINAL_RATE = 1 << 20

/**
 * Deadlines of the pieces that readers of a torrent need next.
 *
 * @example
 * ```ts
 * const win = new DeadlineWindow({ pieceLength: 262144, pieceCount: 400, now: () => performance.now() })
 * win.open('r1', 0, 10_000_000)     // a reader of the torrent's first 10 MB
 * win.move('r1', 5_000_000)         // it read on (or seeked)
 * const due = win.critical(2_000_000, (p) => have.get(p)) // [{ piece: 19, deadline }, ...]
 * win.close('r1')                    // back to the normal order
 * ```
 */
export class DeadlineWindow {
  private readonly pieceLength: number
  private readonly pieceCount: number
  private readonly now: () => number
  private readonly lookaheadMs: number
  private readonly minPieces: number
  private readonly maxPieces: number
  private readonly idleMs: number
  private readonly readers = new Map<string, Reader>()

  constructor(opts: DeadlineOptions) {
    if (!Number.isSafeInteger(opts.pieceLength) || opts.pieceLength <= 0) throw new RangeError(`bad piece length ${opts.pieceLength}`)
    if (!Number.isSafeInteger(opts.pieceCount) || opts.pieceCount < 0) throw new RangeError(`bad piece count ${opts.pieceCount}`)
    this.pieceLength = opts.pieceLength
    this.pieceCount = opts.pieceCount
    this.now = opts.now
    this.lookaheadMs = Math.max(0, opts.lookaheadMs ?? 4000)
    this.minPieces = Math.max(1, opts.minPieces ?? 2)
    this.maxPieces = Math.max(this.minPieces, opts.maxPieces ?? 64)
    this.idleMs = Math.max(0, opts.idleMs ?? 30_000)
  }

  /** A reader of torrent bytes [start, end) starts at `start`. Reopening an id replaces it. */
  open(id: string, start: number, end: number): void {
    const total = this.pieceCount * this.pieceLength
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) throw new RangeError(`bad range ${start}..${end}`)
    this.readers.set(id, { position: start, end: Math.min(end, total), lastMove: this.now() })
  }

  /** Reader `id` is now at torrent byte `position` (it read on, or seeked). Unknown ids are ignored. */
  move(id: string, position: number): void {
    const r = this.readers.get(id)
    if (r === undefined) return
    r.position = Math.max(0, position)
    r.lastMove = this.now()
  }

  /** Reader `id` stopped. */
  close(id: string): void {
    this.readers.delete(id)
  }

  /** Open readers, idle ones included. */
  size(): number {
    return this.readers.size
  }

  /** True when some reader has a window (open and not idle). */
  active(): boolean {
    const t = this.now()
    for (const r of this.readers.values()) if (t - r.lastMove < this.idleMs && r.position < r.end) return true
    return false
  }

  /** Pieces in one window at `rate` bytes/s. */
  windowPieces(rate: number): number {
    const r = rate > 0 && Number.isFinite(rate) ? rate : 0
    const wanted = Math.ceil((r * this.lookaheadMs) / 1000 / this.pieceLength)
    return Math.min(this.maxPieces, Math.max(this.minPieces, wanted))
  }

  /**
   * True when piece `piece` is in some reader's window at `rate` bytes/s:
   * from the piece under its position, `windowPieces(rate)` pieces on,
   * within its range (had or not). Idle and finished readers cover nothing.
   */
  covers(piece: number, rate: number): boolean {
    const t = this.now()
    const size = this.windowPieces(rate)
    for (const r of this.readers.values()) {
      if (t - r.lastMove >= this.idleMs || r.position >= r.end) continue
      const first = Math.floor(r.position / this.pieceLength)
      const last = Math.min(this.pieceCount - 1, Math.floor((r.end - 1) / this.pieceLength), first + size - 1)
      if (piece >= first && piece <= last) return true
    }
    return false
  }

  /**
   * The pieces readers need next that `have` lacks, earliest deadline first
   * (ties by piece index). A piece several readers need gets the earliest of
   * their deadlines.
   */
  critical(rate: number, have: (piece: number) => boolean): PieceDeadline[] {
    const t = this.now()
    const size = this.windowPieces(rate)
    const perPieceMs = (this.pieceLength / (rate > 0 && Number.isFinite(rate) ? rate : NOMINAL_RATE)) * 1000
    const due = new Map<number, number>()
    for (const r of this.readers.values()) {
      if (t - r.lastMove >= this.idleMs || r.position >= r.end) continue
      const first = Math.floor(r.position / this.pieceLength)
      const last = Math.min(this.pieceCount - 1, Math.floor((r.end - 1) / this.pieceLength))
      let j = 0
      for (let p = first; p <= last && j < size; p++) {
        // verified pieces ahead count towards the window (they are already there), so the window stays `size` pieces of the file
        const deadline = t + j * perPieceMs
        j++
        if (have(p)) continue
        const prev = due.get(p)
        if (prev === undefined || deadline < prev) due.set(p, deadline)
      }
    }
    return [...due].map(([piece, deadline]) => ({ piece, deadline })).sort((a, b) => a.deadline - b.deadline || a.piece - b.piece)
  }
}
