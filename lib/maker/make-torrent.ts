/**
 * Make a .torrent (v1, v2 or hybrid) from a file or a directory (Kamaelia's TorrentMaker).
 * Own code rather than `create-torrent`: that one skips "junk" and hidden files
 * and adds fields of its own, while a maker whose file order matches mktorrent's
 * (byte order of the relative path) gives the same piece hashes for the same data.
 * Files are hashed as a stream, so memory stays bounded whatever the size.
 *
 * @module
 */
import { lstat, readdir, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { Buffer } from 'node:buffer'
import { parseMetainfo } from '../engine/metainfo/parse.ts'
import { bencode, type Encodable } from '../engine/metainfo/bencode-encode.ts'
import { MAX_PIECE_LENGTH, MIN_PIECE_LENGTH } from '../engine/metainfo/limits.ts'
import { hashV2 } from './hash-v2.ts'
import { PieceHasher, fileChunks } from './piece-hasher.ts'

/**
 * Options of {@link makeTorrent}.
 *
 * @example
 * ```ts
 * const options: MakeTorrentOptions = {
 *   announce: ['udp://tracker.example:6969/announce', 'http://backup.example/announce'],
 *   pieceLength: 256 * 1024,
 *   comment: 'holiday photos'
 * }
 * ```
 */
export interface MakeTorrentOptions {
  /** Tracker URL, or several (one tier each, in order; the first is also `announce`). */
  readonly announce: string | readonly string[]
  /** Bytes per piece: a power of two from 16 KiB to 64 MiB. Default: see {@link defaultPieceLength}. */
  readonly pieceLength?: number
  /** Set the BEP 27 private flag (peers only from the trackers). */
  readonly private?: boolean
  /** Free text stored in the .torrent's `comment` field (outside the info dictionary). */
  readonly comment?: string
  /** Torrent name; default: the last component of `path`. */
  readonly name?: string
  /**
   * `v1` (default), `v2` (BEP 52 only: merkle trees, SHA-256) or `hybrid` (both
   * halves over the same piece-aligned data, v1 with BEP 47 pad files).
   */
  readonly version?: 'v1' | 'v2' | 'hybrid'
}

/**
 * Piece length for `total` bytes: the smallest power of two from 16 KiB up to
 * 16 MiB that keeps the torrent at or under about 2048 pieces (1 GiB gets 512 KiB).
 *
 * @example
 * defaultPieceLength(1024 ** 3) // 524288
 */
export function defaultPieceLength (total: number): number {
  let pl = MIN_PIECE_LENGTH
  while (total / pl > 2048 && pl < 16 * 1024 * 1024) pl *= 2
  return pl
}

interface SourceFile { readonly abs: string; readonly rel: string[]; readonly length: number }

/**
 * Make the bytes of a .torrent for a file or a directory (directories recursively;
 * regular files only: symlinks and special files are skipped). The result is
 * checked with parseMetainfo before it is returned, so it is always a torrent
 * this engine itself accepts. Rejects with an Error on I/O problems, on nothing to
 * share, or on a file name the engine would refuse.
 *
 * @example
 * const bytes = await makeTorrent('/srv/share/album', { announce: 'http://tracker.example/announce' })
 * await writeFile('album.torrent', bytes)
 */
export async function makeTorrent (path: string, opts: MakeTorrentOptions): Promise<Uint8Array> {
  const root = resolve(path)
  const announce = typeof opts.announce === 'string' ? [opts.announce] : [...opts.announce]
  if (announce.length === 0) throw new Error('at least one announce URL is needed')
  const top = await stat(root)
  const name = opts.name ?? basename(root)
  const single = top.isFile()
  if (!single && !top.isDirectory()) throw new Error(`${root} is neither a file nor a directory`)
  const files = single ? [{ abs: root, rel: [name], length: top.size }] : await listFiles(root)
  const total = files.reduce((sum, f) => sum + f.length, 0)
  if (total === 0) throw new Error(`nothing to share in ${root} (total size is 0)`)
  const pieceLength = opts.pieceLength ?? defaultPieceLength(total)
  if (!Number.isInteger(pieceLength) || pieceLength < MIN_PIECE_LENGTH || pieceLength > MAX_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
    throw new Error(`piece length ${pieceLength} must be a power of two from ${MIN_PIECE_LENGTH} to ${MAX_PIECE_LENGTH}`)
  }
  const version = opts.version ?? 'v1'
  const info: Record<string, Encodable> = { name, 'piece length': pieceLength }
  let pieceLayers: Encodable | undefined
  if (version === 'v1') {
    info['pieces'] = await hashPieces(files, pieceLength)
    if (single) info['length'] = total
    else info['files'] = files.map(f => ({ length: f.length, path: f.rel }))
  } else {
    // v2 orders files component by component (the file tree's order), not by the joined path.
    const ordered = single ? files : [...files].sort((a, b) => compareComponents(a.rel, b.rel))
    const v2 = await hashV2(ordered, pieceLength, version === 'hybrid', single)
    info['meta version'] = 2
    info['file tree'] = v2.fileTree
    if (v2.pieceLayers.size > 0) pieceLayers = v2.pieceLayers
    if (version === 'hybrid') {
      info['pieces'] = v2.v1Pieces
      // A single file keeps the v1 single-file form, with no pad after it (as libtorrent makes it).
      if (single) info['length'] = total
      else info['files'] = v2.v1Files
    }
  }
  if (opts.private === true) info['private'] = 1

  const torrent: Record<string, Encodable | undefined> = {
    announce: announce[0] as string,
    'created by': 'torrent-patron',
    'creation date': Math.floor(Date.now() / 1000),
    info,
    'piece layers': pieceLayers
  }
  if (announce.length > 1) torrent['announce-list'] = announce.map(u => [u])
  if (opts.comment !== undefined) torrent['comment'] = opts.comment
  const bytes = bencode(torrent)

  const check = await parseMetainfo(bytes, { acceptV2Only: true })
  if (!check.ok) throw new Error(`the result would be refused: ${check.reason}`)
  return bytes
}

/** Order of two relative paths in a v2 file tree: component by component, by raw UTF-8 bytes. */
function compareComponents (a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = Buffer.compare(Buffer.from(a[i] as string, 'utf8'), Buffer.from(b[i] as string, 'utf8'))
    if (c !== 0) return c
  }
  return a.length - b.length
}

/** Regular files below `root`, in byte order of their '/'-joined relative path (as mktorrent sorts). */
async function listFiles (root: string): Promise<SourceFile[]> {
  const out: SourceFile[] = []
  const pending: string[][] = [[]]
  while (pending.length > 0) {
    const rel = pending.pop() as string[]
    const entries = await readdir(join(root, ...rel))
    for (const entry of entries) {
      const childRel = [...rel, entry]
      const abs = join(root, ...childRel)
      const st = await lstat(abs)
      if (st.isDirectory()) pending.push(childRel)
      else if (st.isFile()) out.push({ abs, rel: childRel, length: st.size })
    }
  }
  const key = (f: SourceFile): Buffer => Buffer.from(f.rel.join('/'), 'utf8')
  return out.sort((a, b) => Buffer.compare(key(a), key(b)))
}

/** SHA-1 of each piece over the concatenated files, streamed. */
async function hashPieces (files: readonly SourceFile[], pieceLength: number): Promise<Uint8Array> {
  const pieces = new PieceHasher(pieceLength)
  for (const f of files) for await (const chunk of fileChunks(f)) pieces.update(chunk)
  return new Uint8Array(Buffer.concat(pieces.finish()))
}
