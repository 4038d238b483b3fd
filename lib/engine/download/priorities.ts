/**
 * File selection: per-file priorities (skip, low, normal, high) turned into
 * per-piece priorities, and the byte counts that progress is measured in.
 * Pure bookkeeping over the torrent's geometry, no IO.
 *
 * A piece takes the highest priority of the non-pad files it overlaps, so a
 * piece that straddles a wanted and a skipped file is still fetched (its
 * hash covers both); the skipped file's share of it is kept out of the save
 * folder by the storage (see disk/selective-storage.ts). Progress counts the
 * bytes of wanted files only: a piece straddling a skipped file contributes
 * just its wanted share, the way libtorrent's `total_wanted_done` does.
 *
 * @module
 */

import type { FilePriority } from '../../messages.ts'

export type { FilePriority }

/** Every priority, lowest first. */
export const FILE_PRIORITIES: readonly FilePriority[] = Object.freeze(['skip', 'low', 'normal', 'high'])

/**
 * The numeric rank of a priority: 0 (skip) to 3 (high).
 *
 * @example
 * ```ts
 * priorityRank('high') > priorityRank('low') // true
 * ```
 */
export function priorityRank(p: FilePriority): number {
  return FILE_PRIORITIES.indexOf(p)
}

/**
 * True for the four priority words (for checking untrusted input).
 *
 * @example
 * ```ts
 * isFilePriority('skip') // true
 * isFilePriority('none') // false
 * ```
 */
export function isFilePriority(v: unknown): v is FilePriority {
  return typeof v === 'string' && (FILE_PRIORITIES as readonly string[]).includes(v)
}

/** The file geometry priorities need: a subset of contracts.ts's FileEntry. */
export interface FileSpan {
  /** Offset of the file's first byte in the torrent. */
  readonly offset: number
  /** Bytes. */
  readonly length: number
  /** BEP 47 pad file: never wanted, never counted. */
  readonly pad: boolean
}

/** Geometry of a torrent, as far as selection is concerned. */
export interface SelectionGeometry {
  /** Files in torrent order, pad files included. */
  readonly files: readonly FileSpan[]
  /** Bytes per piece (all but the last). */
  readonly pieceLength: number
  /** Number of pieces. */
  readonly pieceCount: number
}

/** Pieces whose priority changed after {@link Selection.set}, with their new rank. */
export type PriorityChange = ReadonlyArray<{ readonly piece: number; readonly rank: number }>

/**
 * File priorities of one torrent and what follows from them for its pieces.
 *
 * @example
 * ```ts
 * const sel = new Selection({ files: meta.files, pieceLength: meta.pieceLength, pieceCount: meta.pieceCount })
 * sel.set(1, 'skip')                 // returns the pieces whose rank changed
 * sel.pieceRank(0)                   // 2 (normal)
 * sel.wantedDone((p) => have.get(p)) // verified bytes of wanted files
 * ```
 */
export class Selection {
  private readonly files: readonly FileSpan[]
  private readonly pieceLength: number
  /** Number of pieces. */
  readonly pieceCount: number
  private readonly prios: FilePriority[]
  private readonly ranks: Uint8Array
  /** Per piece: bytes of files with a priority above skip. */
  private readonly wantedIn: Float64Array
  private wantedTotal = 0

  constructor(geometry: SelectionGeometry, priorities?: readonly FilePriority[]) {
    const { files, pieceLength, pieceCount } = geometry
    if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`bad piece length ${pieceLength}`)
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 0) throw new RangeError(`bad piece count ${pieceCount}`)
    if (priorities !== undefined && priorities.length !== files.length) {
      throw new RangeError(`${priorities.length} priorities for ${files.length} files`)
    }
    this.files = files
    this.pieceLength = pieceLength
    this.pieceCount = pieceCount
    this.prios = files.map((f, i) => (f.pad ? 'skip' : (priorities?.[i] ?? 'normal')))
    for (const p of this.prios) if (!isFilePriority(p)) throw new RangeError(`bad priority ${JSON.stringify(p)}`)
    this.ranks = new Uint8Array(pieceCount)
    this.wantedIn = new Float64Array(pieceCount)
    this.recompute(0, pieceCount - 1)
  }

  /** The priority of file `i` (pad files are always `skip`). */
  priority(i: number): FilePriority {
    const p = this.prios[i]
    if (p === undefined) throw new RangeError(`no file #${i} (the torrent has ${this.files.length})`)
    return p
  }

  /** Every file's priority, in torrent order. */
  priorities(): FilePriority[] {
    return [...this.prios]
  }

  /** True when file `i` is wanted (not skipped and not a pad file). */
  wanted(i: number): boolean {
    return this.priority(i) !== 'skip'
  }

  /**
   * Sets file `i`'s priority (a pad file stays `skip`) and returns the pieces
   * whose rank changed, so the picker can re-sort only those.
   */
  set(i: number, p: FilePriority): PriorityChange {
    if (!isFilePriority(p)) throw new RangeError(`bad priority ${JSON.stringify(p)}`)
    const f = this.files[this.checkFile(i)]!
    if (f.pad || this.prios[i] === p) return []
    this.prios[i] = p
    const range = this.pieceRange(i)
    if (range === null) return []
    const before = this.ranks.slice(range.first, range.last + 1)
    this.recompute(range.first, range.last)
    const out: { piece: number; rank: number }[] = []
    for (let k = range.first; k <= range.last; k++) {
      if (before[k - range.first] !== this.ranks[k]) out.push({ piece: k, rank: this.ranks[k]! })
    }
    return out
  }

  /** Rank (0 skip .. 3 high) of piece `k`: the highest of the files it overlaps. */
  pieceRank(k: number): number {
    return this.ranks[k] ?? 0
  }

  /** True when piece `k` is to be downloaded (some file it overlaps is wanted). */
  pieceWanted(k: number): boolean {
    return this.pieceRank(k) > 0
  }

  /** All piece ranks, aligned with piece indices (a copy). */
  pieceRanks(): Uint8Array {
    return this.ranks.slice()
  }

  /** First and last piece file `i` overlaps; null for an empty file. */
  pieceRange(i: number): { first: number; last: number } | null {
    const f = this.files[this.checkFile(i)]!
    if (f.length === 0) return null
    return { first: Math.floor(f.offset / this.pieceLength), last: Math.min(this.pieceCount - 1, Math.floor((f.offset + f.length - 1) / this.pieceLength)) }
  }

  /** Bytes of wanted files in the torrent. */
  wantedBytes(): number {
    return this.wantedTotal
  }

  /** Bytes of wanted files inside piece `k`. */
  wantedBytesIn(k: number): number {
    return this.wantedIn[k] ?? 0
  }

  /** Bytes of wanted files inside verified pieces. */
  wantedDone(have: (piece: number) => boolean): number {
    let n = 0
    for (let k = 0; k < this.pieceCount; k++) if (this.wantedIn[k]! > 0 && have(k)) n += this.wantedIn[k]!
    return n
  }

  /** True when every piece with a wanted byte is verified: the selection is complete. */
  complete(have: (piece: number) => boolean): boolean {
    for (let k = 0; k < this.pieceCount; k++) if (this.ranks[k]! > 0 && !have(k)) return false
    return true
  }

  /**
   * Fraction of the wanted bytes that are verified (1 when nothing is
   * wanted), and seconds left at `rate` bytes/s (null at rate 0 or when done).
   */
  progress(have: (piece: number) => boolean, rate: number): { fractionDone: number; timeEst: number | null } {
    const total = this.wantedTotal
    const done = this.wantedDone(have)
    const left = total - done
    return {
      fractionDone: total === 0 ? 1 : done / total,
      timeEst: left <= 0 || !(rate > 0) ? null : left / rate,
    }
  }

  private checkFile(i: number): number {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.files.length) throw new RangeError(`no file #${i} (the torrent has ${this.files.length})`)
    return i
  }

  /** Recomputes ranks and wanted bytes of pieces first..last from the files overlapping them. */
  private recompute(first: number, last: number): void {
    if (last < first) return
    for (let k = first; k <= last; k++) {
      this.wantedTotal -= this.wantedIn[k]!
      this.ranks[k] = 0
      this.wantedIn[k] = 0
    }
    const lo = first * this.pieceLength
    const hi = (last + 1) * this.pieceLength
    for (let i = 0; i < this.files.length; i++) {
      const f = this.files[i]!
      if (f.pad || f.length === 0) continue
      const from = Math.max(lo, f.offset)
      const to = Math.min(hi, f.offset + f.length)
      if (to <= from) continue
      const rank = priorityRank(this.prios[i]!)
      const p0 = Math.floor(from / this.pieceLength)
      const p1 = Math.min(this.pieceCount - 1, Math.floor((to - 1) / this.pieceLength))
      for (let k = p0; k <= p1; k++) {
        if (rank > this.ranks[k]!) this.ranks[k] = rank
        if (rank > 0) {
          const bytes = Math.min(to, (k + 1) * this.pieceLength) - Math.max(from, k * this.pieceLength)
          this.wantedIn[k] += bytes
          this.wantedTotal += bytes
        }
      }
    }
  }
}

/**
 * The metainfo index of file `user` counted without pad files (the numbering
 * of commands, the HTTP server and read streams); null when there is none.
 *
 * @example
 * ```ts
 * metaIndex(meta.files, 1) // 2 when file 1 of the metainfo is a pad file
 * ```
 */
export function metaIndex(files: readonly FileSpan[], user: number): number | null {
  if (!Number.isSafeInteger(user) || user < 0) return null
  let n = -1
  for (let i = 0; i < files.length; i++) if (!files[i]!.pad && ++n === user) return i
  return null
}

/**
 * Priorities given by user index (pad files not counted) spread over the
 * metainfo's files (pad files `skip`, files past the list `others`, by
 * default `normal`); a sentence when the list does not fit the torrent.
 *
 * @example
 * ```ts
 * spreadPriorities(meta.files, ['skip', 'high']) // ['skip', 'skip' (a pad), 'high', 'normal']
 * spreadPriorities(meta.files, ['skip', 'high'], 'skip') // [..., 'high', 'skip']: only file 1
 * ```
 */
export function spreadPriorities(files: readonly FileSpan[], given: readonly unknown[] | undefined, others: FilePriority = 'normal'): FilePriority[] | string {
  const real = files.filter((f) => !f.pad).length
  if (!isFilePriority(others)) return `bad priority ${JSON.stringify(others)} for the other files (skip, low, normal or high)`
  if (given === undefined) return files.map((f) => (f.pad ? 'skip' : others))
  if (!Array.isArray(given)) return 'priorities must be a list of skip, low, normal or high'
  const bad = given.findIndex((p) => !isFilePriority(p))
  if (bad >= 0) return `bad priority ${JSON.stringify(given[bad])} for file ${bad} (skip, low, normal or high)`
  if (given.length > real) return `${given.length} priorities for a torrent of ${real} files${lastNamed(given, others, real)}`
  let n = 0
  return files.map((f) => (f.pad ? 'skip' : ((given[n++] as FilePriority | undefined) ?? others)))
}

/** The highest index a too long list sets apart from `others` (what the user named), in words. */
const lastNamed = (given: readonly unknown[], others: FilePriority, real: number): string => {
  for (let i = given.length - 1; i >= real; i--) if (given[i] !== others) return ` (no file ${i}: they are numbered 0 to ${real - 1})`
  return ''
}
