/**
 * The v2 part of a resume record (BEP 52): each file's verified pieces
 * under its `pieces root`, with the file's size and mtime. A root names the
 * file's content whatever its path or torrent, and v2 files start on piece
 * boundaries, so a torrent that has no record of its own (a re-made torrent,
 * a file moved within the tree) takes the pieces of any record in the same
 * save folder that holds its file's root, for the same piece length, when
 * the file on disk has that record's size and mtime. Other files are checked.
 *
 * @module
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { Buffer } from 'node:buffer'
import type { Metainfo, V2File } from '../contracts.ts'
import { Bitfield } from '../wire/bitfield.ts'
import type { FileStat } from './resume.ts'

/** One file of a v2 record. */
export interface RootEntry {
  /** Hex pieces root. */
  readonly root: string
  readonly size: number
  readonly mtimeMs: number
  /** The file's own verified pieces (from its first), BEP 3 bitfield bytes in base64. */
  readonly pieces: string
}

/** The metainfo fields the v2 part uses. */
export type RootsTorrent = Pick<Metainfo, 'infoHash' | 'pieceLength' | 'pieceCount' | 'files'> & Partial<Pick<Metainfo, 'v2'>>

/** Records read at most, looking for a root (a folder of many torrents stays cheap). */
export const MAX_RECORDS_SCANNED = 256

/** The index in `meta.files` (with `stats` aligned to it) of a v2 file. */
function entryOf (meta: RootsTorrent, f: V2File): number {
  return meta.files.findIndex((e) => !e.pad && e.offset === f.offset && e.length === f.length)
}

/**
 * The v2 part of a record: every file with data, its pieces from `have`.
 *
 * @example
 * const roots = rootEntries(meta, picker.haveBitfield(), await storage.stat())
 */
export function rootEntries (meta: RootsTorrent, have: Bitfield, stats: ReadonlyArray<FileStat>): RootEntry[] {
  const out: RootEntry[] = []
  for (const f of meta.v2?.files ?? []) {
    const s = stats[entryOf(meta, f)]
    if (f.root === null || f.length === 0 || s == null) continue
    const bits = new Bitfield(f.pieceCount)
    for (let i = 0; i < f.pieceCount; i++) if (have.get(f.firstPiece + i)) bits.set(i)
    out.push({ root: Buffer.from(f.root).toString('hex'), size: s.size, mtimeMs: s.mtimeMs, pieces: Buffer.from(bits.toBytes()).toString('base64') })
  }
  return out
}

/** The entries of untrusted JSON, or null when any is malformed. */
export function parseRootEntries (v: unknown): RootEntry[] | null {
  if (!Array.isArray(v)) return null
  for (const e of v as unknown[]) {
    if (typeof e !== 'object' || e === null) return null
    const { root, size, mtimeMs, pieces } = e as Record<string, unknown>
    if (typeof root !== 'string' || !/^[0-9a-f]{64}$/.test(root)) return null
    if (typeof size !== 'number' || typeof mtimeMs !== 'number' || !Number.isFinite(size) || !Number.isFinite(mtimeMs)) return null
    if (typeof pieces !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(pieces)) return null
  }
  return v as RootEntry[]
}

/**
 * Pieces of a v2 torrent without a record of its own, vouched for by other
 * records of `folder` (in `dir`) through its files' roots: `trusted` and the
 * pieces `toCheck`; null when no file of it is in any record.
 *
 * @example
 * const byRoots = await loadByRoots(recordsDir, meta, await storage.stat())
 */
export async function loadByRoots (dir: string, meta: RootsTorrent, stats: ReadonlyArray<FileStat>): Promise<{ trusted: Bitfield, toCheck: Bitfield } | null> {
  const files = meta.v2?.files.filter((f) => f.root !== null && f.length > 0) ?? []
  if (files.length === 0) return null
  const known = await recordedRoots(dir, meta)
  if (known.size === 0) return null
  const trusted = new Bitfield(meta.pieceCount)
  const toCheck = new Bitfield(meta.pieceCount)
  let found = 0
  for (const f of files) {
    const s = stats[entryOf(meta, f)]
    const match = s == null ? undefined : known.get(Buffer.from(f.root as Uint8Array).toString('hex'))?.find((e) => e.size === s.size && e.mtimeMs === s.mtimeMs)
    const bits = match === undefined ? null : Bitfield.fromBytes(new Uint8Array(Buffer.from(match.pieces, 'base64')), f.pieceCount)
    for (let i = 0; i < f.pieceCount; i++) {
      if (bits?.get(i) === true) trusted.set(f.firstPiece + i)
      else toCheck.set(f.firstPiece + i)
    }
    if (bits !== null) found++
  }
  return found === 0 ? null : { trusted, toCheck }
}

/** Root -> entries of the records in `dir` for the same piece length (the torrent's own record aside). */
async function recordedRoots (dir: string, meta: RootsTorrent): Promise<Map<string, RootEntry[]>> {
  const out = new Map<string, RootEntry[]>()
  let names: string[]
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.resume.json') && n !== `${meta.infoHash}.resume.json`).slice(0, MAX_RECORDS_SCANNED)
  } catch {
    return out
  }
  for (const name of names) {
    let v: unknown
    try {
      v = JSON.parse(await readFile(path.join(dir, name), 'utf8'))
    } catch {
      continue
    }
    const r = v as Record<string, unknown> | null
    if (r === null || typeof r !== 'object' || r['version'] !== 1 || r['pieceLength'] !== meta.pieceLength) continue
    for (const e of parseRootEntries(r['roots']) ?? []) out.set(e.root, [...(out.get(e.root) ?? []), e])
  }
  return out
}
