/**
 * Untrusted .torrent bytes (or a bare info dictionary fetched with ut_metadata)
 * to a validated {@link Metainfo}. Limits come first, decoding is strict and
 * iterative (see bdecode-guard.ts), and every field the engine relies on is
 * checked here so that no later part ever sees an unsafe path, a negative size
 * or a piece count that disagrees with the data length.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import { createHash } from 'node:crypto'
import type { FileEntry, Metainfo, MetainfoV2, ParseResult } from '../contracts.ts'
import { bdecode, isBytes, isDict, isInt, isList, type BDict, type BValue } from './bdecode-guard.ts'
import { checkHybrid } from './hybrid.ts'
import { layoutV2, readFileTree, readPieceLayers, type V2Layout } from './v2.ts'
import { MAX_FILES, MAX_METAINFO_BYTES, MAX_PIECE_LENGTH, MAX_PIECES, MAX_TRACKERS, MIN_PIECE_LENGTH } from './limits.ts'
import { componentProblem, pathCollision, pathProblem } from './safe-path.ts'

const text = new TextDecoder('utf-8')

/** Every refusal reason starts with this, so users can tell where it came from. */
const P = 'metainfo: '

type Result<T> = ParseResult<T>
const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason: P + reason })

/** Optional data from outside the info dictionary. */
export interface InfoExtras {
  /** Tracker URLs (e.g. from the magnet that led to the info dictionary). */
  readonly announce?: readonly string[]
  /** Web seed URLs (BEP 19). */
  readonly urlList?: readonly string[]
}

/**
 * Options of {@link parseMetainfo}.
 *
 * @example
 * ```ts
 * const r = await parseMetainfo(bytes, { acceptV2Only: true })
 * if (r.ok) console.log(r.value.version, r.value.v2?.infoHash)
 * ```
 */
export interface ParseOptions {
  /**
   * Accept v2-only torrents (BEP 52). Off by default: the engine's download
   * path verifies v1 pieces only, so a torrent it is to run must have a v1 half.
   */
  readonly acceptV2Only?: boolean
}

/**
 * Parse and validate the bytes of a .torrent file (v1, v2 or hybrid).
 * Never throws and never rejects: malformed or unsafe input resolves to
 * `{ ok: false, reason }` with a short reason for the user.
 *
 * @example
 * const r = await parseMetainfo(await readFile('ubuntu.torrent'))
 * if (r.ok) console.log(r.value.infoHash, r.value.files.length)
 * else console.log(r.reason) // e.g. 'metainfo: file path component ".." is not allowed (files[3].path)'
 */
export async function parseMetainfo (bytes: Uint8Array, opts: ParseOptions = {}): Promise<ParseResult<Metainfo>> {
  try {
    return gate(parseTorrentFile(bytes), opts)
  } catch (err) {
    return refuse(`internal error while parsing (${describe(err)})`)
  }
}

/**
 * Build a {@link Metainfo} from a bare bencoded info dictionary, as received from
 * peers with ut_metadata (BEP 9). The same validation as {@link parseMetainfo}
 * applies; the info hash is the SHA-1 of `info` exactly as given, so the caller
 * compares it with the hash it asked for.
 *
 * @example
 * const r = await metainfoFromInfoBytes(infoBytes, { announce: magnet.announce })
 * if (r.ok && r.value.infoHash === magnet.infoHash) start(r.value)
 */
export async function metainfoFromInfoBytes (info: Uint8Array, extras: InfoExtras = {}, opts: ParseOptions = {}): Promise<ParseResult<Metainfo>> {
  try {
    if (!(info instanceof Uint8Array)) return refuse('info dictionary is not a byte array')
    if (info.length > MAX_METAINFO_BYTES) return refuse(`info dictionary is ${info.length} bytes, over the ${MAX_METAINFO_BYTES}-byte limit`)
    const decoded = bdecode(info)
    if (!decoded.ok) return refuse(decoded.reason)
    if (!isDict(decoded.value)) return refuse('info is not a dictionary')
    const announce = cleanUrls(extras.announce ?? [], TRACKER_SCHEMES)
    const urlList = cleanUrls(extras.urlList ?? [], WEB_SEED_SCHEMES)
    return gate(buildMetainfo(decoded.value, info.slice(), { announce, urlList, pieceLayers: undefined }), opts)
  } catch (err) {
    return refuse(`internal error while parsing (${describe(err)})`)
  }
}

function gate (r: Result<Metainfo>, opts: ParseOptions): Result<Metainfo> {
  if (r.ok && r.value.version === 'v2' && opts.acceptV2Only !== true) return refuse('BitTorrent v2-only torrents (BEP 52) are not supported yet')
  return r
}

function parseTorrentFile (bytes: Uint8Array): Result<Metainfo> {
  if (!(bytes instanceof Uint8Array)) return refuse('torrent data is not a byte array')
  if (bytes.length === 0) return refuse('torrent file is empty')
  if (bytes.length > MAX_METAINFO_BYTES) return refuse(`torrent file is ${bytes.length} bytes, over the ${MAX_METAINFO_BYTES}-byte limit`)
  const decoded = bdecode(bytes, { allowTrailing: true })
  if (!decoded.ok) return refuse(decoded.reason)
  const root = decoded.value
  if (!isDict(root)) return refuse('not a torrent file (top level is not a dictionary)')
  const info = root.get('info')
  const span = decoded.rootSpans.get('info')
  if (!isDict(info) || span === undefined) return refuse('missing or invalid "info" dictionary')
  // The hash is over the original bytes: a re-encoding could reorder keys and change it.
  const infoBytes = bytes.slice(span[0], span[1])
  return buildMetainfo(info, infoBytes, {
    announce: readAnnounce(root),
    urlList: readUrlList(root),
    pieceLayers: root.get('piece layers')
  })
}

interface Context {
  readonly announce: string[]
  readonly urlList: string[]
  readonly pieceLayers: BValue | undefined
}

function buildMetainfo (info: BDict, infoBytes: Uint8Array, ctx: Context): Result<Metainfo> {
  const version = info.get('meta version')
  if (version !== undefined && version !== 1 && version !== 2) {
    return refuse(`unsupported "meta version" ${isInt(version) ? String(version) : '(not an integer)'}`)
  }
  const v2 = version === 2
  const v1 = !v2 || info.has('pieces')

  const nameValue = pickUtf8Variant(info, 'name')
  if (!isBytes(nameValue)) return refuse('missing or invalid torrent name (info.name)')
  const name = text.decode(nameValue)
  const nameProblem = componentProblem(name)
  if (nameProblem !== null) return refuse(`torrent name: ${nameProblem} (info.name)`)

  const pieceLength = info.get('piece length')
  if (typeof pieceLength !== 'number') return refuse('missing or invalid piece length (info["piece length"])')
  if (pieceLength <= 0) return refuse(`piece length ${pieceLength} is not positive (info["piece length"])`)
  if (pieceLength < MIN_PIECE_LENGTH || pieceLength > MAX_PIECE_LENGTH) {
    return refuse(`piece length ${pieceLength} is outside the supported range ${MIN_PIECE_LENGTH}..${MAX_PIECE_LENGTH} bytes`)
  }
  if ((pieceLength & (pieceLength - 1)) !== 0) return refuse(`piece length ${pieceLength} is not a power of two`)

  let half: V2Half | null = null
  if (v2) {
    const r = readV2(info, name, pieceLength, ctx.pieceLayers, infoBytes)
    if (!r.ok) return r
    half = r.value
  }
  let entries: FileEntry[]
  let pieceHashes: Uint8Array
  if (v1) {
    const pieces = info.get('pieces')
    if (!isBytes(pieces)) return refuse('missing or invalid piece hashes (info.pieces)')
    if (pieces.length % 20 !== 0) return refuse(`piece hashes are ${pieces.length} bytes, not a multiple of 20 (info.pieces)`)
    const files = readFiles(info, name)
    if (!files.ok) return files
    entries = files.value
    pieceHashes = pieces.slice()
  } else {
    entries = (half as V2Half).layout.entries
    pieceHashes = new Uint8Array(0)
  }
  const last = entries[entries.length - 1]
  const length = last === undefined ? 0 : last.offset + last.length
  if (length <= 0) return refuse('torrent has no data (total length is 0)')

  const pieceCount = Math.ceil(length / pieceLength)
  if (pieceCount > MAX_PIECES) return refuse(`too many pieces: ${pieceCount} (limit ${MAX_PIECES})`)
  if (v1 && half !== null) {
    const problem = checkHybrid(entries, half.layout.files, pieceLength, pieceCount)
    if (problem !== null) return refuse(`hybrid torrent: ${problem}`)
  }
  if (v1 && pieceHashes.length / 20 !== pieceCount) {
    return refuse(`info.pieces holds ${pieceHashes.length / 20} hashes but ${length} bytes in ${pieceLength}-byte pieces need ${pieceCount}`)
  }

  // Pad files and symlinks are never written, so only real files can collide on disk.
  const collision = pathCollision(entries.map(f => f.pad ? null : f.path))
  if (collision !== null) {
    const shown = entries[collision.second]?.path.join('/') ?? ''
    const where = v1 ? (i: number) => `files[${i}]` : (i: number) => `"file tree" entries ${i}`
    return refuse(collision.kind === 'duplicate'
      ? `duplicate file path "${clip(shown)}" (${where(collision.first)} and ${where(collision.second)})`
      : `file path of ${where(collision.first)} is also a directory of ${where(collision.second)} ("${clip(shown)}")`)
  }

  const infoHashBytes = half !== null && !v1
    ? half.v2.infoHashBytes.slice(0, 20)
    : new Uint8Array(createHash('sha1').update(infoBytes).digest())
  return {
    ok: true,
    value: {
      infoHash: Buffer.from(infoHashBytes).toString('hex'),
      infoHashBytes,
      name,
      pieceLength,
      lastPieceLength: length - (pieceCount - 1) * pieceLength,
      pieceCount,
      length,
      pieceHashes,
      files: entries,
      announce: ctx.announce,
      urlList: ctx.urlList,
      private: info.get('private') === 1,
      infoBytes,
      version: half === null ? 'v1' : v1 ? 'hybrid' : 'v2',
      ...(half === null ? {} : { v2: half.v2 }),
      fileBytes: entries.reduce((n, f) => f.pad ? n : n + f.length, 0)
    }
  }
}

interface V2Half { readonly layout: V2Layout; readonly v2: MetainfoV2 }

function readV2 (info: BDict, name: string, pieceLength: number, rawLayers: BValue | undefined, infoBytes: Uint8Array): Result<V2Half> {
  const tree = readFileTree(info)
  if (!tree.ok) return refuse(tree.reason)
  const layout = layoutV2(tree.value, name, pieceLength)
  if (!layout.ok) return refuse(layout.reason)
  const layers = readPieceLayers(rawLayers, layout.value.files, pieceLength)
  if (!layers.ok) return refuse(layers.reason)
  const infoHashBytes = new Uint8Array(createHash('sha256').update(infoBytes).digest())
  return {
    ok: true,
    value: {
      layout: layout.value,
      v2: { infoHash: Buffer.from(infoHashBytes).toString('hex'), infoHashBytes, files: layout.value.files, pieceLayers: layers.value }
    }
  }
}

type FilesResult = { ok: true; value: FileEntry[] } | { ok: false; reason: string }

function readFiles (info: BDict, name: string): FilesResult {
  const list = info.get('files')
  if (list === undefined) {
    const length = info.get('length')
    if (!isInt(length)) return refuse('missing or invalid length (info.length)')
    const bad = lengthProblem(length, 'info.length')
    if (bad !== null) return refuse(bad)
    const n = length as number
    return { ok: true, value: [{ path: [name], length: n, offset: 0, pad: false }] }
  }
  if (!isList(list)) return refuse('file list is not a list (info.files)')
  if (list.length === 0) return refuse('torrent has no files (info.files is empty)')
  if (list.length > MAX_FILES) return refuse(`too many files: ${list.length} (limit ${MAX_FILES})`)
  const value: FileEntry[] = []
  let offset = 0
  for (let i = 0; i < list.length; i++) {
    const where = `files[${i}]`
    const f = list[i]
    if (!isDict(f)) return refuse(`file entry is not a dictionary (${where})`)
    const attrValue = f.get('attr')
    const attr = isBytes(attrValue) ? text.decode(attrValue) : ''
    const symlink = attr.includes('l')
    let length = 0
    // BEP 47: a symlink has no data of its own, whatever length it claims.
    if (!symlink) {
      const l = f.get('length')
      if (!isInt(l)) return refuse(`missing or invalid file length (${where}.length)`)
      const bad = lengthProblem(l, `${where}.length`)
      if (bad !== null) return refuse(bad)
      length = l as number
    }
    const pathValue = pickUtf8Variant(f, 'path')
    let pad = attr.includes('p')
    let path: string[]
    if (pathValue === undefined && pad) {
      path = ['.pad', String(length)]
    } else {
      if (!isList(pathValue)) return refuse(`missing or invalid file path (${where}.path)`)
      path = []
      for (const c of pathValue) {
        if (!isBytes(c)) return refuse(`file path component is not a string (${where}.path)`)
        path.push(text.decode(c))
      }
      const problem = pathProblem(path)
      if (problem !== null) return refuse(`file path ${problem} (${where}.path)`)
      // BitComet-style padding, named instead of flagged; libtorrent counts these as pad files too.
      if (path[path.length - 1]?.startsWith('_____padding_file_') === true) pad = true
    }
    const full = [name, ...path]
    const fullProblem = pathProblem(full)
    if (fullProblem !== null) return refuse(`file path ${fullProblem} (${where}.path)`)
    if (offset + length > Number.MAX_SAFE_INTEGER) return refuse('total length is too large')
    value.push({ path: full, length, offset, pad: pad || symlink })
    offset += length
  }
  return { ok: true, value }
}

function lengthProblem (l: number | bigint, where: string): string | null {
  if (typeof l === 'bigint' || !Number.isSafeInteger(l)) return `length ${String(l)} is too large (${where})`
  if (l < 0) return `length ${l} is negative (${where})`
  return null
}

/** `name.utf-8` / `path.utf-8` win when present and well-typed, as in libtorrent. */
function pickUtf8Variant (d: BDict, key: string): BValue | undefined {
  const utf = d.get(`${key}.utf-8`)
  const plain = d.get(key)
  if (key === 'name' ? isBytes(utf) : isList(utf)) return utf
  return plain
}

const TRACKER_SCHEMES = ['http:', 'https:', 'udp:', 'ws:', 'wss:']
const WEB_SEED_SCHEMES = ['http:', 'https:']

function readAnnounce (root: BDict): string[] {
  const tiers = root.get('announce-list')
  const urls: BValue[] = []
  if (isList(tiers)) {
    for (const tier of tiers) {
      if (isList(tier)) urls.push(...tier.slice(0, MAX_TRACKERS))
      else if (isBytes(tier)) urls.push(tier)
      if (urls.length >= MAX_TRACKERS) break
    }
  }
  // BEP 12: a non-empty announce-list replaces announce.
  const fromList = cleanUrls(urls.filter(isBytes).map(u => text.decode(u)), TRACKER_SCHEMES)
  if (fromList.length > 0) return fromList
  const single = root.get('announce')
  return isBytes(single) ? cleanUrls([text.decode(single)], TRACKER_SCHEMES) : []
}

function readUrlList (root: BDict): string[] {
  const v = root.get('url-list')
  const raw = isBytes(v) ? [v] : isList(v) ? v.filter(isBytes) : []
  return cleanUrls(raw.slice(0, MAX_TRACKERS).map(u => text.decode(u)), WEB_SEED_SCHEMES)
}

/** Trimmed, parseable URLs of the given schemes, without duplicates, at most MAX_TRACKERS. */
function cleanUrls (urls: readonly unknown[], schemes: readonly string[]): string[] {
  const out = new Set<string>()
  for (const u of urls) {
    if (typeof u !== 'string') continue
    const s = u.trim()
    if (s.length === 0 || s.length > 2048 || /[\x00-\x1f\x7f]/.test(s)) continue
    let parsed: URL
    try { parsed = new URL(s) } catch { continue }
    if (!schemes.includes(parsed.protocol)) continue
    out.add(s)
    if (out.size >= MAX_TRACKERS) break
  }
  return [...out]
}

function clip (s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s
}

function describe (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
