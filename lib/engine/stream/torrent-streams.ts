/**
 * A torrent's readers: read streams over its files that wait for verified
 * pieces (disk/piece-reader.ts), the deadline window their positions make
 * (download/deadlines.ts) for the picker, and an `@most/core` stream of "range now
 * readable" events. One per running torrent; the torrent tells it when a
 * piece is verified and on disk, and when it stops.
 *
 * File indices here are user-facing: the torrent's files in metainfo order,
 * BEP 47 pad files not counted.
 *
 * @module
 */
import type { Readable } from 'node:stream'
import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import type { FileEntry } from '../contracts.ts'
import { DeadlineWindow, type PieceDeadline } from '../download/deadlines.ts'
import { createPieceReader, PieceWaiters } from '../disk/piece-reader.ts'
import { FreshPieces } from './fresh-pieces.ts'

/**
 * Bytes [start, end) of file `file` became readable (the piece under them verified).
 *
 * @example
 * ```ts
 * const ev: RangeReadable = { file: 0, start: 262144, end: 524288 }
 * ```
 */
export interface RangeReadable {
  /** File index (pad files not counted). */
  readonly file: number
  /** First byte, within the file. */
  readonly start: number
  /** One past the last byte, within the file. */
  readonly end: number
}

/**
 * A file as readers see it.
 *
 * @example
 * ```ts
 * const f: StreamFile = { index: 1, name: 'album/b.ogg', length: 3_000_000, offset: 5_242_880 }
 * ```
 */
export interface StreamFile {
  /** Index among the non-pad files. */
  readonly index: number
  /** Path inside the torrent, `/`-separated. */
  readonly name: string
  /** Bytes. */
  readonly length: number
  /** Offset in the torrent's byte space. */
  readonly offset: number
}

/**
 * What {@link TorrentStreams} needs of its torrent (the engine gives it; tests give real storage).
 *
 * @example
 * ```ts
 * const t: StreamsTorrent = { files, pieceLength, pieceCount, has: (p) => have.get(p), read: (o, n) => storage.read(o, n), now: () => performance.now() }
 * ```
 */
export interface StreamsTorrent {
  /** Files in metainfo order, pad files included. */
  readonly files: readonly FileEntry[]
  /** Bytes per piece (all but the last). */
  readonly pieceLength: number
  /** Number of pieces. */
  readonly pieceCount: number
  /** True when piece `p` is verified and its bytes are written. */
  has(piece: number): boolean
  /** Reads bytes at a torrent offset (only ever of pieces `has` vouches for). */
  read(offset: number, length: number): Promise<Uint8Array>
  /** Milliseconds on a monotonic clock. */
  now(): number
  /** The readers' window changed (opened, moved, closed): re-plan requests. */
  changed?(): void
}

/**
 * Options of {@link TorrentStreams.createReadStream}.
 *
 * @example
 * ```ts
 * const secondMiB: ReadStreamOptions = { start: 1 << 20, end: (2 << 20) - 1 }
 * ```
 */
export interface ReadStreamOptions {
  /** First byte, within the file; default 0. */
  readonly start?: number
  /** Last byte, inclusive (like fs.createReadStream), within the file; default the file's last. */
  readonly end?: number
}

/**
 * The readers of one torrent.
 *
 * @example
 * ```ts
 * const streams = new TorrentStreams({ files, pieceLength, pieceCount, has, read: (o, n) => storage.read(o, n), now: () => performance.now() })
 * streams.createReadStream(0, { start: 1000 }).pipe(res)
 * // in the torrent: on every piece verified and written
 * streams.verified(piece)
 * // in the picker: streams.critical(downRate) first
 * ```
 */
export class TorrentStreams {
  private readonly waiters = new PieceWaiters()
  private readonly window: DeadlineWindow
  private readonly list: StreamFile[]
  private readonly sinks = new Set<(r: RangeReadable) => void>()
  private readonly openReaders = new Set<Readable>()
  private stopped: string | null = null
  private nextReader = 0
  /** Pieces just verified that readers' windows cover, served from memory. */
  private readonly fresh: FreshPieces
  /** The download rate of the latest plan: sizes the windows that decide what `fresh` keeps. */
  private rate = 0
  private fromMemory = 0
  private fromStorage = 0

  constructor(private readonly torrent: StreamsTorrent) {
    this.window = new DeadlineWindow({ pieceLength: torrent.pieceLength, pieceCount: torrent.pieceCount, now: () => torrent.now() })
    this.fresh = new FreshPieces(torrent.pieceLength)
    this.list = []
    for (const f of torrent.files) {
      if (f.pad) continue
      this.list.push({ index: this.list.length, name: f.path.join('/'), length: f.length, offset: f.offset })
    }
  }

  /** The files readers can open. */
  files(): readonly StreamFile[] {
    return this.list
  }

  /**
   * Finds a file by index (a number or its decimal string) or by name (the
   * path inside the torrent, or its last component when that is unique).
   * Throws an error that lists what exists.
   */
  resolve(file: number | string): StreamFile {
    const byIndex = typeof file === 'number' ? file : /^(0|[1-9][0-9]*)$/.test(file) ? Number(file) : null
    if (byIndex !== null) {
      const f = this.list[byIndex]
      if (f === undefined) throw new RangeError(`no file #${byIndex}: the torrent has ${this.list.length} (numbered from 0)`)
      return f
    }
    const name = String(file)
    const exact = this.list.filter((f) => f.name === name || f.name.split('/').slice(1).join('/') === name)
    const byBase = exact.length > 0 ? exact : this.list.filter((f) => f.name.split('/').at(-1) === name)
    if (byBase.length === 1) return byBase[0]!
    if (byBase.length > 1) throw new RangeError(`file name ${JSON.stringify(name)} is ambiguous: ${byBase.map((f) => `#${f.index} ${f.name}`).join(', ')}`)
    throw new RangeError(`no file named ${JSON.stringify(name)}; the torrent has ${this.list.map((f) => f.name).join(', ')}`)
  }

  /**
   * A Readable of file `file`'s bytes `start..end` (inclusive, like
   * fs.createReadStream), yielding each part once the piece under it is
   * verified; it ends with an error saying why if the torrent stops first.
   * Its window of deadlines goes with it: moved as it reads, dropped when it
   * ends or is destroyed. Its chunks may be views into a verified piece's
   * buffer shared with other readers: do not write to them.
   */
  createReadStream(file: number | string, opts: ReadStreamOptions = {}): Readable {
    if (this.stopped !== null) throw new Error(this.stopped)
    const f = this.resolve(file)
    const start = opts.start ?? 0
    const last = opts.end ?? f.length - 1
    if (!Number.isSafeInteger(start) || start < 0 || start > f.length) throw new RangeError(`bad start ${start} for ${f.name} (${f.length} bytes)`)
    if (!Number.isSafeInteger(last) || last < start - 1 || last >= f.length) throw new RangeError(`bad end ${last} for ${f.name} (${f.length} bytes)`)
    const id = `r${++this.nextReader}`
    const reader = createPieceReader(
      {
        pieceLength: this.torrent.pieceLength,
        has: (p) => this.torrent.has(p),
        waitFor: (p, signal) => this.waiters.waitFor(p, signal),
        read: (o, n) => {
          const held = this.fresh.read(o, n)
          if (held !== null) {
            this.fromMemory += n
            return Promise.resolve(held)
          }
          this.fromStorage += n
          return this.torrent.read(o, n)
        },
        position: (rid, pos, s, e) => {
          if (pos === null) this.window.close(rid)
          else if (pos === s) this.window.open(rid, s, e)
          else this.window.move(rid, pos)
          if (this.fresh.size() > 0) this.fresh.keep((p) => this.window.covers(p, this.rate))
          this.torrent.changed?.()
        },
      },
      { start: f.offset + start, end: f.offset + last + 1, id },
    )
    this.openReaders.add(reader)
    reader.once('close', () => this.openReaders.delete(reader))
    return reader
  }

  /** Verified fraction of each file (aligned with files()). */
  fileProgress(): number[] {
    const pl = this.torrent.pieceLength
    return this.list.map((f) => {
      if (f.length === 0) return 1
      let done = 0
      for (let p = Math.floor(f.offset / pl); p * pl < f.offset + f.length; p++) {
        if (this.torrent.has(p)) done += Math.min(f.offset + f.length, (p + 1) * pl) - Math.max(f.offset, p * pl)
      }
      return done / f.length
    })
  }

  /** Open readers (diagnostics: none may leak). */
  readers(): number {
    return this.openReaders.size
  }

  /** Pieces held in memory for readers (diagnostics). @internal */
  held(): number {
    return this.fresh.size()
  }

  /** Bytes readers got from memory and from storage (diagnostics, bench/stream-engine.ts). @internal */
  readBytes(): { memory: number; storage: number } {
    return { memory: this.fromMemory, storage: this.fromStorage }
  }

  /** Pieces readers wait on (diagnostics). */
  waiting(): number {
    return this.waiters.size()
  }

  /** The pieces readers need next, earliest deadline first, at `rate` bytes/s. */
  critical(rate: number): PieceDeadline[] {
    this.rate = rate
    return this.window.critical(rate, (p) => this.torrent.has(p))
  }

  /** True when some reader has a window (the picker's normal order is then not enough). */
  active(): boolean {
    return this.window.active()
  }

  /**
   * Piece `piece` is verified and written: readers waiting on it go on,
   * "readable" events go out. `take` gives away the verified piece's
   * buffer (see PieceAttempt.take): when a reader's window covers the
   * piece, readers read it from there instead of from the disk.
   */
  verified(piece: number, take?: () => Uint8Array | null): void {
    if (take !== undefined && this.fresh.room(this.torrent.pieceLength) && this.window.covers(piece, this.rate)) {
      const bytes = take()
      if (bytes !== null) this.fresh.add(piece, bytes)
    }
    this.waiters.verified(piece)
    if (this.sinks.size === 0) return
    const from = piece * this.torrent.pieceLength
    const to = from + this.torrent.pieceLength
    for (const f of this.list) {
      if (f.offset >= to) break
      const a = Math.max(from, f.offset)
      const b = Math.min(to, f.offset + f.length)
      if (b <= a) continue
      const ev: RangeReadable = { file: f.index, start: a - f.offset, end: b - f.offset }
      for (const s of this.sinks) s(ev)
    }
  }

  /** The torrent stopped: every reader ends with an error saying `reason`, and no new one opens. */
  stop(reason: string): void {
    this.stopped ??= reason
    this.fresh.keep(() => false)
    this.waiters.stop(reason)
    for (const r of this.openReaders) if (!r.destroyed) r.destroy(new Error(reason))
    for (const s of [...this.sinks]) s(STOP)
  }

  /**
   * An `@most/core` stream of "range now readable" events (no bytes: read them with
   * createReadStream); it ends when the torrent stops.
   */
  readable(): Stream<RangeReadable> {
    return new ReadableEvents(this)
  }

  /** @internal */
  listen(f: (r: RangeReadable) => void): () => void {
    this.sinks.add(f)
    return () => this.sinks.delete(f)
  }

  /** @internal */
  isStopped(): boolean {
    return this.stopped !== null
  }
}

const STOP: RangeReadable = Object.freeze({ file: -1, start: 0, end: 0 })

class ReadableEvents implements Stream<RangeReadable> {
  constructor(private readonly streams: TorrentStreams) {}

  run(sink: Sink<RangeReadable>, scheduler: Scheduler): Disposable {
    if (this.streams.isStopped()) {
      sink.end(scheduler.currentTime())
      return { dispose: () => undefined }
    }
    const off = this.streams.listen((r) => {
      if (r === STOP) {
        off()
        sink.end(scheduler.currentTime())
      } else sink.event(scheduler.currentTime(), r)
    })
    return { dispose: off }
  }
}
