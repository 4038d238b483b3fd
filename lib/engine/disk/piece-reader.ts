/**
 * Reading a torrent's bytes while it downloads: a Node `Readable` over a
 * byte range that yields bytes as soon as the pieces under them are
 * verified, read from storage (never from the network, never from
 * unverified data). Back-pressure is Node's: the next piece is waited for
 * and read only when the consumer wants more.
 *
 * It knows the torrent through {@link PieceSource} (verified pieces, a wait
 * for a piece, storage reads, and where readers are, for the deadline
 * window), so it is tested against real storage without a swarm.
 *
 * @module
 */
import { Readable } from 'node:stream'

/** What a reader needs of a torrent. */
export interface PieceSource {
  /** Bytes per piece (all but the last). */
  readonly pieceLength: number
  /** True when piece `piece` is verified. */
  has(piece: number): boolean
  /**
   * Resolves once piece `piece` is verified; rejects when the torrent stops
   * (the error says why) or `signal` aborts.
   */
  waitFor(piece: number, signal: AbortSignal): Promise<void>
  /** Reads verified bytes at a torrent offset. */
  read(offset: number, length: number): Promise<Uint8Array>
  /** Reader `id` reads torrent bytes [start, end) and is now at `position`; null position: it stopped. */
  position?(id: string, position: number | null, start: number, end: number): void
}

/** Options of {@link createPieceReader}. */
export interface PieceReaderOptions {
  /** Torrent offset of the range's first byte. */
  readonly start: number
  /** Torrent offset one past the range's last byte. */
  readonly end: number
  /** Id reported to PieceSource.position (default: a fresh one). */
  readonly id?: string
  /** Most bytes read from storage at once; default 256 KiB (a piece or less is read at a time). */
  readonly chunkSize?: number
  /** Bytes buffered ahead of the consumer; default one chunk. */
  readonly highWaterMark?: number
}

let nextId = 0

/**
 * A Readable of torrent bytes [start, end). It is also an async iterable
 * (`for await (const chunk of reader)`), like every Node Readable.
 *
 * @example
 * ```ts
 * const r = createPieceReader(source, { start: file.offset, end: file.offset + file.length })
 * r.pipe(res)  // waits for each piece to verify, reads it from disk
 * ```
 */
export function createPieceReader(source: PieceSource, opts: PieceReaderOptions): Readable {
  const { start, end } = opts
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) throw new RangeError(`bad range ${start}..${end}`)
  const id = opts.id ?? `reader-${++nextId}`
  const chunkSize = Math.max(1, opts.chunkSize ?? 256 << 10)
  const abort = new AbortController()
  let position = start
  source.position?.(id, position, start, end)
  return new Readable({
    highWaterMark: opts.highWaterMark ?? chunkSize,
    read() {
      if (position >= end) {
        this.push(null)
        return
      }
      const piece = Math.floor(position / source.pieceLength)
      const pieceEnd = (piece + 1) * source.pieceLength
      const length = Math.min(end, pieceEnd, position + chunkSize) - position
      const at = position
      const go = async (): Promise<Uint8Array> => {
        if (!source.has(piece)) await source.waitFor(piece, abort.signal)
        return source.read(at, length)
      }
      go().then(
        (bytes) => {
          if (this.destroyed) return
          position = at + bytes.length
          source.position?.(id, position, start, end)
          this.push(bytes)
          if (position >= end) this.push(null)
        },
        (err: Error) => {
          if (!this.destroyed) this.destroy(err)
        },
      )
    },
    destroy(err, cb) {
      abort.abort()
      source.position?.(id, null, start, end)
      cb(err)
    },
  })
}

/**
 * Waiters for pieces: promises that resolve when a piece is verified and
 * reject, with the reason, when the torrent stops.
 *
 * @example
 * ```ts
 * const waiters = new PieceWaiters()
 * const ready = waiters.waitFor(7, signal)
 * waiters.verified(7)               // ready resolves
 * waiters.stop('torrent closed')    // every other waiter rejects with that reason
 * ```
 */
export class PieceWaiters {
  private readonly waiting = new Map<number, Set<{ resolve: () => void; reject: (e: Error) => void }>>()
  private stopped: Error | null = null

  /** Resolves when `verified(piece)` is called; rejects on stop() or abort. */
  waitFor(piece: number, signal?: AbortSignal): Promise<void> {
    if (this.stopped !== null) return Promise.reject(this.stopped)
    if (signal?.aborted) return Promise.reject(new Error('reader closed'))
    return new Promise<void>((resolve, reject) => {
      let set = this.waiting.get(piece)
      if (set === undefined) this.waiting.set(piece, (set = new Set()))
      const entry = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (e: Error) => {
          signal?.removeEventListener('abort', onAbort)
          reject(e)
        },
      }
      const onAbort = () => {
        this.remove(piece, entry)
        reject(new Error('reader closed'))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      set.add(entry)
    })
  }

  /** Piece `piece` verified: its waiters resolve. */
  verified(piece: number): void {
    const set = this.waiting.get(piece)
    if (set === undefined) return
    this.waiting.delete(piece)
    for (const w of set) w.resolve()
  }

  /** The torrent stopped: every waiter, and every later wait, rejects with `reason`. */
  stop(reason: string): void {
    this.stopped ??= new Error(reason)
    const all = [...this.waiting.values()]
    this.waiting.clear()
    for (const set of all) for (const w of set) w.reject(this.stopped)
  }

  /** Waiters not yet settled (diagnostics: no reader must leak one). */
  size(): number {
    let n = 0
    for (const s of this.waiting.values()) n += s.size
    return n
  }

  private remove(piece: number, entry: { resolve: () => void; reject: (e: Error) => void }): void {
    const set = this.waiting.get(piece)
    if (set === undefined) return
    set.delete(entry)
    if (set.size === 0) this.waiting.delete(piece)
  }
}
