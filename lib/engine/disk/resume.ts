/**
 * Resume records: which pieces were verified, plus the size and mtime of
 * every file at that moment, so a restart trusts only pieces whose files are
 * exactly as they were and re-checks the rest (nothing unverified ever
 * counts as done, nothing verified is downloaded twice).
 *
 * Stored at `<save folder>/.torrent-patron/<infohash>.resume.json`, written
 * atomically (temp file in the same folder, fsync, rename, fsync folder), so
 * a crash leaves either the old record or the new one, never a torn one; a
 * failed write leaves no temp file, and a writer's first write removes those
 * of killed processes.
 *
 * @module
 */
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Hasher, Metainfo, Storage } from '../contracts.ts'
import { Bitfield } from '../wire/bitfield.ts'
import { checkExisting, type CheckedTorrent } from './checker.ts'
import { isFilePriority, type FilePriority } from '../download/priorities.ts'
import { removeStaleTemps, writeFileAtomic } from './atomic-file.ts'
import { makeFolder } from './make-folder.ts'
import { loadByRoots, parseRootEntries, rootEntries, type RootEntry, type RootsTorrent } from './resume-roots.ts'

/** Size and mtime of a file (as from Storage.stat()), null when absent or a pad file. */
export type FileStat = {
  /** Bytes. */
  readonly size: number
  /** Modification time, ms since the epoch (with sub-ms precision where the file system has it). */
  readonly mtimeMs: number
} | null

/** The metainfo fields resume records use. */
export type ResumeTorrent = Pick<Metainfo, 'infoHash' | 'pieceLength' | 'pieceCount' | 'files'> & Partial<Pick<Metainfo, 'v2'>>

/** On-disk shape of a resume record (version 1). */
export interface ResumeRecord {
  /** Format version. */
  readonly version: 1
  /** Hex v1 info hash of the torrent. */
  readonly infoHash: string
  /** Piece length the bitfield refers to. */
  readonly pieceLength: number
  /** Number of pieces the bitfield holds. */
  readonly pieceCount: number
  /** Verified pieces, BEP 3 bitfield bytes in base64. */
  readonly bitfield: string
  /** Aligned with the metainfo's files; null for pad files and absent files. */
  readonly files: ReadonlyArray<FileStat>
  /** File priorities aligned with the metainfo's files, when a selection was made (absent: every file normal). */
  readonly priorities?: ReadonlyArray<FilePriority>
  /** A torrent with a v2 half: each file's pieces by `pieces root` (disk/resume-roots.ts); absent in older records. */
  readonly roots?: ReadonlyArray<RootEntry>
}

/**
 * Result of {@link loadResume}: the pieces to trust as verified (it is a
 * Bitfield, usable wherever one is expected), plus `toCheck`, the pieces
 * touching a file whose size or mtime changed: hash those before use.
 */
export class ResumeBitfield extends Bitfield {
  constructor(
    trusted: Bitfield,
    /** Pieces overlapping a changed file (verified before or not): re-check them. */
    readonly toCheck: Bitfield,
  ) {
    super(trusted.length, trusted.toBytes())
  }
}

const DIR = '.torrent-patron'
const HEX40 = /^[0-9a-f]{40}$/

/** Where the resume record of `infoHash` lives under `folder`. */
export function resumePath(folder: string, infoHash: string): string {
  if (!HEX40.test(infoHash)) throw new Error(`bad info hash ${JSON.stringify(infoHash)}`)
  return path.join(path.resolve(folder), DIR, `${infoHash}.resume.json`)
}

/**
 * Writes the resume record atomically. Take `stats` (Storage.stat()) after
 * the data of every piece in `have` was written (after a storage sync too,
 * if the record must survive power loss and not just a killed process).
 *
 * @example
 * ```ts
 * await saveResume(saveFolder, metainfo, picker.haveBitfield(), await storage.stat())
 * ```
 */
export async function saveResume(
  folder: string,
  metainfo: ResumeTorrent,
  have: Bitfield,
  stats: ReadonlyArray<FileStat>,
  priorities?: ReadonlyArray<FilePriority>,
): Promise<void> {
  if (priorities !== undefined && priorities.length !== metainfo.files.length) {
    throw new RangeError(`${priorities.length} priorities for ${metainfo.files.length} files`)
  }
  if (have.length !== metainfo.pieceCount) throw new RangeError(`bitfield of ${have.length} pieces, torrent has ${metainfo.pieceCount}`)
  if (stats.length !== metainfo.files.length) throw new RangeError(`${stats.length} file stats for ${metainfo.files.length} files`)
  const file = resumePath(folder, metainfo.infoHash)
  const record: ResumeRecord = {
    version: 1,
    infoHash: metainfo.infoHash,
    pieceLength: metainfo.pieceLength,
    pieceCount: metainfo.pieceCount,
    bitfield: Buffer.from(have.toBytes()).toString('base64'),
    files: stats.map((s, i) => (s === null || metainfo.files[i]!.pad ? null : { size: s.size, mtimeMs: s.mtimeMs })),
    ...(priorities !== undefined ? { priorities: [...priorities] } : {}),
    ...(metainfo.v2 !== undefined ? { roots: rootEntries(metainfo as RootsTorrent, have, stats) } : {}),
  }
  await makeFolder(path.dirname(file))
  try {
    await writeFileAtomic(file, JSON.stringify(record))
  } catch (err) {
    throw new Error(`cannot write resume record ${file}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Reads the resume record and decides what to trust. Null when there is no
 * usable record (absent, unreadable, corrupt, or for another torrent).
 * Pieces are trusted only when the record marks them verified and every
 * non-pad file they overlap has the recorded size and mtime now; pieces
 * overlapping any other file are returned in `toCheck`.
 *
 * @param stats current Storage.stat(), aligned with `metainfo.files`
 * @example
 * ```ts
 * const resumed = await loadResume(saveFolder, metainfo, await storage.stat())
 * if (resumed) {
 *   picker.setHave(resumed)
 *   const rechecked = await checkExisting(storage, metainfo, hasher, progress, signal, { only: resumed.toCheck })
 * }
 * ```
 */
export async function loadResume(folder: string, metainfo: ResumeTorrent, stats: ReadonlyArray<FileStat>): Promise<ResumeBitfield | null> {
  const record = await readRecord(folder, metainfo)
  if (record === null) return null
  const saved = Bitfield.fromBytes(new Uint8Array(Buffer.from(record.bitfield, 'base64')), metainfo.pieceCount)
  if (saved === null) return null

  const trusted = saved.clone()
  const toCheck = new Bitfield(metainfo.pieceCount)
  const { pieceLength } = metainfo
  metainfo.files.forEach((f, i) => {
    if (f.pad || f.length === 0) return
    const was = record.files[i]
    const now = stats[i]
    if (was != null && now != null && was.size === now.size && was.mtimeMs === now.mtimeMs) return
    const first = Math.floor(f.offset / pieceLength)
    const last = Math.floor((f.offset + f.length - 1) / pieceLength)
    for (let p = first; p <= last && p < metainfo.pieceCount; p++) {
      trusted.set(p, false)
      toCheck.set(p)
    }
  })
  return new ResumeBitfield(trusted, toCheck)
}

/**
 * The file priorities a resume record holds; null when there is no usable
 * record or it holds none (every file normal, as before any selection).
 *
 * @example
 * ```ts
 * const priorities = (await loadPriorities(saveFolder, metainfo)) ?? requested
 * ```
 */
export async function loadPriorities(folder: string, metainfo: ResumeTorrent): Promise<FilePriority[] | null> {
  const record = await readRecord(folder, metainfo)
  return record?.priorities === undefined ? null : [...record.priorities]
}

/** Outcome of {@link restoreHave}. */
export interface Restored {
  /** Verified pieces: trusted from the resume record or found good by hashing. */
  readonly have: Bitfield
  /** How the result was obtained: nothing on disk, resume record (+ partial check), or a full check. */
  readonly source: 'empty' | 'resume' | 'check'
  /** Pieces that needed checking (hashed, unless their file was absent or short). */
  readonly checked: number
}

/**
 * What a starting torrent already has: nothing when no file has data; else
 * the resume record's trusted pieces plus a check of only the pieces it
 * could not vouch for; else (no usable record) a full check.
 *
 * @example
 * ```ts
 * const { have, source } = await restoreHave(saveFolder, metainfo, storage, hasher, (d, n) => progress(d / n), signal)
 * picker.setHave(have)
 * ```
 */
export async function restoreHave(
  folder: string,
  metainfo: ResumeTorrent & CheckedTorrent,
  storage: Storage,
  hasher: Hasher,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<Restored> {
  const stats = await storage.stat()
  if (!stats.some((s) => s !== null && s.size > 0)) return { have: new Bitfield(metainfo.pieceCount), source: 'empty', checked: 0 }
  // No record of its own: a v2 torrent may find its files' pieces in other records by their roots.
  const byRoots = async () => {
    const r = await loadByRoots(path.dirname(resumePath(folder, metainfo.infoHash)), metainfo, stats)
    return r === null ? null : new ResumeBitfield(r.trusted, r.toCheck)
  }
  const resumed = (await loadResume(folder, metainfo, stats)) ?? (metainfo.v2 === undefined ? null : await byRoots())
  if (resumed === null) {
    const have = await checkExisting(storage, metainfo, hasher, onProgress, signal)
    return { have, source: 'check', checked: metainfo.pieceCount }
  }
  const have = new Bitfield(resumed.length, resumed.toBytes())
  const checked = resumed.toCheck.count()
  if (checked > 0) {
    const found = await checkExisting(storage, metainfo, hasher, onProgress, signal, { only: resumed.toCheck })
    for (const p of found.setIndices()) have.set(p)
  } else onProgress?.(metainfo.pieceCount, metainfo.pieceCount)
  return { have, source: 'resume', checked }
}

/** Deletes the resume record of a torrent, if any. */
export async function deleteResume(folder: string, infoHash: string): Promise<void> {
  await rm(resumePath(folder, infoHash), { force: true })
}

/** Validates untrusted JSON against the torrent; null on any mismatch. */
/** The torrent's record in `folder`, when there is a readable one that matches it. */
async function readRecord(folder: string, metainfo: ResumeTorrent): Promise<ResumeRecord | null> {
  let text: string
  try {
    text = await readFile(resumePath(folder, metainfo.infoHash), 'utf8')
  } catch {
    return null
  }
  return parseRecord(text, metainfo)
}

function parseRecord(text: string, m: ResumeTorrent): ResumeRecord | null {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof v !== 'object' || v === null) return null
  const r = v as Record<string, unknown>
  if (r.version !== 1 || r.infoHash !== m.infoHash || r.pieceLength !== m.pieceLength || r.pieceCount !== m.pieceCount) return null
  if (typeof r.bitfield !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(r.bitfield)) return null
  if (!Array.isArray(r.files) || r.files.length !== m.files.length) return null
  for (const f of r.files as unknown[]) {
    if (f === null) continue
    if (typeof f !== 'object') return null
    const { size, mtimeMs } = f as Record<string, unknown>
    if (typeof size !== 'number' || typeof mtimeMs !== 'number' || !Number.isFinite(size) || !Number.isFinite(mtimeMs)) return null
  }
  if (r.priorities !== undefined && (!Array.isArray(r.priorities) || r.priorities.length !== m.files.length || !r.priorities.every(isFilePriority))) return null
  if (r.roots !== undefined && parseRootEntries(r.roots) === null) return null
  return r as unknown as ResumeRecord
}

/** What a resume record is made of. */
export interface ResumeSnapshot {
  /**
   * Verified pieces whose storage writes have all resolved: a piece verified
   * from memory while its blocks are still being written must wait, or a kill
   * at the wrong moment would leave a trusted piece that is not on disk.
   */
  readonly have: Bitfield
  /** Storage.stat(), taken after the data of `have` was written. */
  readonly stats: ReadonlyArray<FileStat>
  /** The file priorities to record, when a selection was made. */
  readonly priorities?: ReadonlyArray<FilePriority>
}

/** Options of {@link createResumeWriter}. */
export interface ResumeWriterOptions {
  /** The torrent's save folder. */
  readonly folder: string
  /** The torrent. */
  readonly metainfo: ResumeTorrent
  /** Current verified pieces and file stats (e.g. picker.haveBitfield() and storage.stat()). */
  readonly snapshot: () => Promise<ResumeSnapshot>
  /** Least time between two writes while changes keep coming; default 2000 ms. */
  readonly minIntervalMs?: number
  /** Write failures land here (default: ignored); the next change retries. */
  readonly onError?: (err: Error) => void
}

/** Throttled resume writing: see {@link createResumeWriter}. */
export interface ResumeWriter {
  /** Something changed (a piece verified): write soon, at most once per interval. */
  changed(): void
  /** Write now if anything changed since the last write (waits for one in progress). */
  flush(): Promise<void>
  /** Final flush; later changes are ignored. */
  close(): Promise<void>
}

/**
 * Writes resume records at most every `minIntervalMs` while pieces keep
 * completing, never two at once, and once more on close.
 *
 * @example
 * ```ts
 * // no fsync needed against a killed process (the page cache survives it);
 * // call storage.sync() in snapshot only to survive power loss too
 * const writer = createResumeWriter({ folder, metainfo, snapshot: async () => (
 *   { have: picker.haveBitfield(), stats: await storage.stat() }
 * ) })
 * // on every verified piece:
 * writer.changed()
 * // on close:
 * await writer.close()
 * ```
 */
export function createResumeWriter(opts: ResumeWriterOptions): ResumeWriter {
  const interval = Math.max(0, opts.minIntervalMs ?? 2000)
  let dirty = false
  let closed = false
  let lastWrite = -Infinity
  let timer: NodeJS.Timeout | null = null
  let writing: Promise<void> | null = null
  /** After a failed write, retry no sooner than a second later (a full disk stays full for a while). */
  let failing = false
  /** Temp files of killed writers are removed once, before the first write. */
  let swept = false

  const write = async (): Promise<void> => {
    while (writing !== null) await writing
    if (!dirty) return
    dirty = false
    writing = (async () => {
      try {
        if (!swept) {
          swept = true
          await removeStaleTemps(resumePath(opts.folder, opts.metainfo.infoHash))
        }
        const { have, stats, priorities } = await opts.snapshot()
        await saveResume(opts.folder, opts.metainfo, have, stats, priorities)
        failing = false
      } catch (err) {
        dirty = true
        failing = true
        opts.onError?.(err instanceof Error ? err : new Error(String(err)))
      } finally {
        lastWrite = Date.now()
        writing = null
      }
    })()
    await writing
  }

  const schedule = () => {
    if (timer !== null || closed) return
    const wait = Math.max(0, lastWrite + (failing ? Math.max(interval, 1000) : interval) - Date.now())
    timer = setTimeout(() => {
      timer = null
      void write().then(() => {
        if (dirty && !closed) schedule()
      })
    }, wait)
    timer.unref()
  }

  return {
    changed() {
      if (closed) return
      dirty = true
      schedule()
    },
    async flush() {
      if (timer !== null) {
        clearTimeout(timer)
        timer = null
      }
      await write()
    },
    async close() {
      if (closed) {
        while (writing !== null) await writing
        return
      }
      closed = true
      if (timer !== null) {
        clearTimeout(timer)
        timer = null
      }
      await write()
    },
  }
}
