/**
 * Where a run of pieces lives on a BEP 19 web seed: the file URLs (the seed's
 * URL for a single-file torrent, or the URL plus the torrent's name and each
 * file's path for a multi-file one) and the byte span of each file the run
 * covers, so a run costs one Range request per file it touches.
 *
 * @internal
 * @module
 */
import type { Metainfo } from '../contracts.ts'

/** The parts of a torrent a web seed needs. */
export type WebSeedLayout = Pick<Metainfo, 'name' | 'files' | 'pieceLength' | 'pieceCount' | 'length'>

/** One file's share of a run of pieces. */
export interface FileSpan {
  /** Index into the layout's files. */
  readonly file: number
  /** First byte within the file. */
  readonly fileOffset: number
  /** Bytes in the span. */
  readonly length: number
  /** Where the span starts in the run's buffer. */
  readonly runOffset: number
  /** A BEP 47 pad file: zeros, never fetched. */
  readonly pad: boolean
}

/** A web seed URL that cannot be built safely, or a run outside the torrent. */
export class WebSeedLayoutError extends Error {
  override readonly name = 'WebSeedLayoutError'
}

/**
 * Byte range `[start, end)` of pieces `[first, first + count)` in the
 * torrent's byte space.
 *
 * @example
 * ```ts
 * runBytes({ pieceLength: 16384, pieceCount: 3, length: 40000 }, 1, 2) // { start: 16384, end: 40000 }
 * ```
 */
export const runBytes = (layout: Pick<WebSeedLayout, 'pieceLength' | 'pieceCount' | 'length'>, first: number, count: number): { start: number; end: number } => {
  if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 1 || first + count > layout.pieceCount)
    throw new WebSeedLayoutError(`pieces ${first}..${first + count - 1} are not in a torrent of ${layout.pieceCount} pieces`)
  return { start: first * layout.pieceLength, end: Math.min(layout.length, (first + count) * layout.pieceLength) }
}

/**
 * The file spans of pieces `[first, first + count)`, in torrent order; empty
 * files are skipped.
 *
 * @example
 * ```ts
 * // two 10-byte files, 8-byte pieces: piece 1 is bytes 8..15
 * fileSpans(layout, 1, 1) // [{ file: 0, fileOffset: 8, length: 2, runOffset: 0 }, { file: 1, fileOffset: 0, length: 6, runOffset: 2 }]
 * ```
 */
export const fileSpans = (layout: WebSeedLayout, first: number, count: number): FileSpan[] => {
  const { start, end } = runBytes(layout, first, count)
  const spans: FileSpan[] = []
  layout.files.forEach((f, file) => {
    const from = Math.max(start, f.offset)
    const to = Math.min(end, f.offset + f.length)
    if (to > from) spans.push({ file, fileOffset: from - f.offset, length: to - from, runOffset: from - start, pad: f.pad })
  })
  return spans
}

const unsafeComponent = (c: string): boolean =>
  c.length === 0 || c === '.' || c === '..' || /[/\\\0]/.test(c) || /^[a-zA-Z]:/.test(c)

/**
 * The URL of one file on a web seed (BEP 19): a single-file torrent's file is
 * the seed URL itself, or the URL plus the torrent's name when the URL ends in
 * `/`; a multi-file torrent's files are below the URL plus the torrent's name.
 * Each path component is percent-encoded; a component that could climb out of
 * the seed's folder (`..`, `.`, separators, NUL, a drive letter) is refused
 * here even though metainfo parsing refuses such names already.
 *
 * @example
 * ```ts
 * fileUrl('http://h/seed/', layout, 0) // 'http://h/seed/My%20Album/cd1/01.flac'
 * ```
 */
export const fileUrl = (base: string, layout: WebSeedLayout, file: number): string => {
  const entry = layout.files[file]
  if (entry === undefined) throw new WebSeedLayoutError(`no file ${file} in the torrent`)
  for (const c of entry.path) {
    if (unsafeComponent(c)) throw new WebSeedLayoutError(`web seed: unsafe path component ${JSON.stringify(c)} in ${JSON.stringify(entry.path.join('/'))}`)
  }
  let u: URL
  try {
    u = new URL(base)
  } catch {
    throw new WebSeedLayoutError(`web seed: not a URL: ${base}`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new WebSeedLayoutError(`web seed: only http and https are supported: ${base}`)
  const encoded = entry.path.map(encodeURIComponent).join('/')
  const single = layout.files.length === 1 && entry.path.length === 1
  if (single && !u.pathname.endsWith('/')) return u.href
  const dir = u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`
  const out = new URL(u.href)
  out.pathname = `${dir}${encoded}`
  // The URL parser resolves dot segments: the built path must still start with the seed's folder.
  if (!out.pathname.startsWith(dir)) throw new WebSeedLayoutError(`web seed: ${JSON.stringify(entry.path.join('/'))} leaves ${base}`)
  return out.href
}
