/**
 * A torrent's file selection and readers, as one part of the coordinator:
 * file priorities turned into piece ranks for the picker (and into what the
 * storage keeps out of the save folder), the readers' read streams, and
 * their deadline window turned into the picker's critical pieces.
 *
 * The coordinator tells it when a piece is verified and written, when the
 * torrent stops, and ticks it; it tells the coordinator when something new
 * is wanted (the torrent is no longer complete) and when requests must be
 * re-planned.
 *
 * @internal
 * @module
 */
import type { Metainfo, Storage } from '../contracts.ts'
import type { FilePriority } from '../../messages.ts'
import { Selection, isFilePriority, metaIndex } from '../download/priorities.ts'
import { TorrentStreams } from '../stream/torrent-streams.ts'
import { FileCompletion } from '../download/file-completion.ts'

/** Least time between two status updates asked for because a wanted file completed (ms); the periodic update carries the rest. */
export const FILE_NOTICE_GAP = 200

/** What the status dictionary says of the files: see TorrentStats' `filesComplete` and `filesSkipped`. */
export interface FileStats {
  readonly filesComplete: readonly number[]
  readonly filesSkipped?: readonly number[]
}

/** What the part needs of its torrent. */
export interface ReadingOptions {
  readonly meta: Pick<Metainfo, 'files' | 'pieceLength' | 'pieceCount'>
  /** Metainfo-aligned priorities to start with (pad files included). */
  readonly priorities: readonly FilePriority[]
  readonly picker: {
    have(piece: number): boolean
    haveCount(): number
    readonly wanted: { setRank(piece: number, rank: number): void; setCritical(pieces: readonly number[]): void }
  }
  readonly storage: Storage
  readonly now: () => number
  /** Download rate in bytes/s: sizes the readers' window. */
  readonly rate: () => number
  /** Readers moved or a priority changed: ask peers again. */
  readonly replan: () => void
  /** A priority change made the torrent want more: it is downloading again. */
  readonly wantsMore: () => void
  /** The priorities changed: record them (resume). */
  readonly changed: () => void
  /** A wanted file is now verified in full: a status update says so (at most one per FILE_NOTICE_GAP). */
  readonly fileComplete?: () => void
}

/**
 * File selection and readers of one torrent.
 *
 * @example
 * ```ts
 * const reading = new TorrentReading({ meta, priorities, picker, storage, now, rate, replan, wantsMore, changed })
 * reading.verified(piece)               // after a piece is verified and on disk
 * reading.setPriority(1, 'skip')        // a SetFilePriority (file index without pad files)
 * reading.streams.createReadStream(0)   // a reader
 * ```
 */
export class TorrentReading {
  /** The file selection. */
  readonly selection: Selection
  /** The readers. */
  readonly streams: TorrentStreams
  private planned = ''
  private readonly completion: FileCompletion
  /** Metainfo index of each user index (pad files not counted). */
  private readonly metaOf: number[] = []
  /** Bumped on every priority change: the file stats' cache key, with the verified count. */
  private priorityVersion = 0
  private fileStatsCache: { key: string; value: FileStats } | null = null
  private lastNotice = -Infinity

  constructor(private readonly o: ReadingOptions) {
    const { meta } = o
    this.selection = new Selection({ files: meta.files, pieceLength: meta.pieceLength, pieceCount: meta.pieceCount }, o.priorities)
    this.completion = new FileCompletion({ files: meta.files, pieceLength: meta.pieceLength, pieceCount: meta.pieceCount }, o.picker)
    meta.files.forEach((f, i) => {
      if (!f.pad) this.metaOf.push(i)
    })
    for (let p = 0; p < meta.pieceCount; p++) {
      const rank = this.selection.pieceRank(p)
      if (rank !== 2) o.picker.wanted.setRank(p, rank)
    }
    this.streams = new TorrentStreams({
      files: meta.files,
      pieceLength: meta.pieceLength,
      pieceCount: meta.pieceCount,
      has: (p) => o.picker.have(p),
      read: (offset, length) => o.storage.read(offset, length),
      now: o.now,
      changed: () => this.plan(),
    })
  }

  /** True when a file selection is in force (some file is not normal). */
  selective(): boolean {
    return this.selection.priorities().some((p, i) => p !== 'normal' && !this.o.meta.files[i]!.pad)
  }

  /**
   * Sets the priority of file `file` (index without pad files). Returns a
   * sentence when the file or the priority does not exist.
   */
  async setPriority(file: number, priority: FilePriority): Promise<string | null> {
    if (!isFilePriority(priority)) return `bad priority ${JSON.stringify(priority)} (skip, low, normal or high)`
    const i = metaIndex(this.o.meta.files, file)
    if (i === null) return `no file #${file}: the torrent has ${this.o.meta.files.filter((f) => !f.pad).length} (numbered from 0)`
    // a priority restated (the service restates every named file when the others' change) costs nothing
    if (this.selection.priority(i) === priority) return null
    const wasComplete = this.selection.complete((p) => this.o.picker.have(p))
    // the storage first: a file wanted again gets its kept bytes before any new write lands
    if (priority !== 'skip') await this.o.storage.setWanted?.(i, true)
    const changes = this.selection.set(i, priority)
    this.priorityVersion++
    if (priority === 'skip') await this.o.storage.setWanted?.(i, false)
    for (const c of changes) this.o.picker.wanted.setRank(c.piece, c.rank)
    this.o.changed()
    if (wasComplete && !this.selection.complete((p) => this.o.picker.have(p))) this.o.wantsMore()
    this.o.replan()
    return null
  }

  /** Piece `piece` is verified and written. */
  verified(piece: number): void {
    this.streams.verified(piece)
    this.plan()
    const done = this.completion.verified(piece)
    if (this.o.fileComplete === undefined || !done.some((u) => this.selection.wanted(this.metaOf[u]!))) return
    const now = this.o.now()
    if (now - this.lastNotice < FILE_NOTICE_GAP) return
    this.lastNotice = now
    this.o.fileComplete()
  }

  /**
   * The wanted files verified in full and, when some file is skipped, the
   * skipped files (user indices, ascending). The same arrays (frozen) come
   * back until a piece is verified or a priority changes.
   */
  fileStats(): FileStats {
    const key = `${this.o.picker.haveCount()}:${this.priorityVersion}`
    if (this.fileStatsCache?.key === key) return this.fileStatsCache.value
    const wanted = (u: number) => this.selection.wanted(this.metaOf[u]!)
    const skipped = this.metaOf.map((_, u) => u).filter((u) => !wanted(u))
    const value: FileStats = {
      filesComplete: Object.freeze(this.completion.complete().filter(wanted)),
      ...(skipped.length > 0 ? { filesSkipped: Object.freeze(skipped) } : {}),
    }
    this.fileStatsCache = { key, value }
    return value
  }

  /** The torrent stopped: readers end with `reason`. */
  stop(reason: string): void {
    this.streams.stop(reason)
    this.o.picker.wanted.setCritical([])
  }

  /** About once a second: the window follows the download rate, idle readers drop out. */
  tick(): void {
    this.plan()
  }

  /** Gives the picker the readers' critical pieces; re-plans requests when they changed. */
  private plan(): void {
    const critical = this.streams.critical(this.o.rate()).map((d) => d.piece)
    const key = critical.join(',')
    if (key === this.planned) return
    this.planned = key
    this.o.picker.wanted.setCritical(critical)
    this.o.replan()
  }
}
