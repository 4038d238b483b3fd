/**
 * An HTTP server for the files of torrents, over Node's `http`: each file at
 * its own URL with `Range` support (206 and `Content-Range`, 416 for a range
 * past the end, `HEAD`), a `Content-Type` by extension, and plain index pages
 * with progress. It knows torrents only through {@link ServedTorrent} (a file
 * list, a byte-range reader and progress), so it serves a downloading
 * torrent and files on disk alike.
 *
 * Bound to 127.0.0.1 by default, and it answers only requests whose `Host`
 * names a loopback address or `localhost` (a web page elsewhere cannot reach
 * it by DNS rebinding); a client that goes away mid-response has its reader
 * destroyed at once.
 *
 * URLs: `/` lists torrents, `/<id>/` lists a torrent's files,
 * `/<id>/<index>/<name>` is a file (the name is for players and for people;
 * the index decides).
 *
 * @module
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import { contentType } from './content-type.ts'
import { parseRange } from './range.ts'

/**
 * One file as the server shows it.
 *
 * @example
 * ```ts
 * const f: ServedFile = { name: 'album/b.ogg', length: 3_000_000 }
 * ```
 */
export interface ServedFile {
  /** Path inside the torrent, `/`-separated (the torrent's name first for multi-file torrents). */
  readonly name: string
  /** Bytes. */
  readonly length: number
}

/**
 * What the server needs of a torrent.
 *
 * @example
 * ```ts
 * const onDisk: ServedTorrent = {
 *   id: 'demo', name: 'demo',
 *   files: () => [{ name: 'clip.webm', length: size }],
 *   createReadStream: (_file, { start, end }) => createReadStream('clip.webm', { start, end: end - 1 }),
 *   progress: () => ({ fractionDone: 1, files: [1] }),
 * }
 * ```
 */
export interface ServedTorrent {
  /** Id in URLs (URL-safe: letters, digits, `-`, `_`, `.`). */
  readonly id: string
  /** Display name. */
  readonly name: string
  /** The files, in torrent order without pad files; the index in this list is the file's index in URLs. */
  files(): readonly ServedFile[]
  /**
   * The bytes [start, end) of file `file` (end exclusive, within the file).
   * The stream may wait for data; an error ends the response.
   */
  createReadStream(file: number, range: { readonly start: number; readonly end: number }): Readable
  /** Verified fraction of the torrent and of each file (aligned with files()). */
  progress(): ServedProgress
}

/**
 * How much of a served torrent is verified.
 *
 * @example
 * ```ts
 * const p: ServedProgress = { fractionDone: 0.5, files: [1, 0.25] }
 * ```
 */
export interface ServedProgress {
  /** Verified fraction of the whole, 0..1. */
  readonly fractionDone: number
  /** Verified fraction of each file, aligned with files(). */
  readonly files?: readonly number[]
}

/**
 * The torrents a server shows.
 *
 * @example
 * ```ts
 * const catalog: TorrentCatalog = { list: () => [...served.values()] }
 * ```
 */
export interface TorrentCatalog {
  /** The torrents now served. */
  list(): readonly ServedTorrent[]
}

/**
 * Options of {@link startStreamServer}.
 *
 * @example
 * ```ts
 * const opts: StreamServerOptions = { port: 8888 } // on 127.0.0.1
 * ```
 */
export interface StreamServerOptions {
  /** Address to bind; default 127.0.0.1. */
  readonly host?: string
  /** Port; default 0 (any free port). */
  readonly port?: number
  /**
   * Host names (without port) accepted in the `Host` header; default the
   * loopback names (`127.0.0.1`, `localhost`, `::1`) plus `host` itself.
   */
  readonly allowedHosts?: readonly string[]
}

/**
 * A running stream server.
 *
 * @example
 * ```ts
 * const srv: StreamServer = await startStreamServer(catalog)
 * console.log(srv.url, srv.activeResponses())
 * await srv.close()
 * ```
 */
export interface StreamServer {
  /** Base URL, e.g. `http://127.0.0.1:8123`. */
  readonly url: string
  /** The Node server (for its events). */
  readonly server: Server
  /** URL of a file. */
  fileUrl(torrent: ServedTorrent, file: number): string
  /** Responses sending file bytes right now. */
  activeResponses(): number
  /** Stops listening and ends every response in progress. */
  close(): Promise<void>
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1', '[::1]']

/**
 * Starts a server for the torrents of `catalog`.
 *
 * @example
 * ```ts
 * const srv = await startStreamServer({ list: () => [onDisk] })
 * console.log(srv.fileUrl(onDisk, 0)) // http://127.0.0.1:41234/demo/0/clip.webm
 * await srv.close()
 * ```
 */
export async function startStreamServer(catalog: TorrentCatalog, opts: StreamServerOptions = {}): Promise<StreamServer> {
  const host = opts.host ?? '127.0.0.1'
  const allowed = new Set((opts.allowedHosts ?? [...LOOPBACK, host]).map((h) => h.toLowerCase()))
  const active = new Set<Readable>()
  // node:http loads with the first server: an engine that never serves pays nothing for it.
  const { createServer } = await import('node:http')
  const server = createServer((req, res) => {
    try {
      handle(catalog, allowed, active, req, res)
    } catch (err) {
      // a bug in a catalog must not take the server down
      if (!res.headersSent) text(res, 500, `internal error: ${(err as Error).message}`)
      else res.destroy()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
  return {
    url,
    server,
    fileUrl: (t, i) => `${url}${filePath(t, i)}`,
    activeResponses: () => active.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of active) r.destroy()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function filePath(t: ServedTorrent, i: number): string {
  const f = t.files()[i]
  const base = f?.name.split('/').at(-1) ?? 'file'
  return `/${encodeURIComponent(t.id)}/${i}/${encodeURIComponent(base)}`
}

function handle(catalog: TorrentCatalog, allowed: Set<string>, active: Set<Readable>, req: IncomingMessage, res: ServerResponse): void {
  const hostHeader = (req.headers.host ?? '').toLowerCase()
  const hostName = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0]!
  if (!allowed.has(hostName)) return text(res, 403, `host ${JSON.stringify(req.headers.host ?? '')} not allowed`)
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD')
    return text(res, 405, `method ${req.method} not allowed`)
  }
  let parts: string[]
  try {
    parts = new URL(req.url ?? '/', 'http://x').pathname.split('/').slice(1).map(decodeURIComponent)
  } catch {
    return text(res, 400, 'bad URL')
  }
  if (parts.length === 1 && parts[0] === '') return html(res, req, indexPage(catalog.list()))
  const torrent = catalog.list().find((t) => t.id === parts[0])
  if (torrent === undefined) return text(res, 404, `no torrent ${JSON.stringify(parts[0])}`)
  if (parts.length === 1 || (parts.length === 2 && parts[1] === '')) {
    if (parts.length === 1) {
      res.setHeader('Location', `/${encodeURIComponent(torrent.id)}/`)
      return text(res, 301, 'moved')
    }
    return html(res, req, torrentPage(torrent))
  }
  const files = torrent.files()
  const index = /^(0|[1-9][0-9]{0,8})$/.test(parts[1]!) ? Number(parts[1]) : -1
  const file = files[index]
  if (file === undefined) return text(res, 404, `no file ${JSON.stringify(parts[1])} in ${torrent.name} (it has ${files.length}, numbered from 0)`)
  serveFile(torrent, index, file, active, req, res)
}

function serveFile(torrent: ServedTorrent, index: number, file: ServedFile, active: Set<Readable>, req: IncomingMessage, res: ServerResponse): void {
  const size = file.length
  res.setHeader('Accept-Ranges', 'bytes')
  res.setHeader('Content-Type', contentType(file.name))
  res.setHeader('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(file.name.split('/').at(-1)!)}`)
  res.setHeader('Cache-Control', 'no-store')
  const range = parseRange(req.headers.range, size)
  if (range === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${size}`)
    return text(res, 416, `range ${req.headers.range} is outside the file (${size} bytes)`)
  }
  const start = range?.start ?? 0
  const end = range?.end ?? size
  res.statusCode = range === null ? 200 : 206
  if (range !== null) res.setHeader('Content-Range', `bytes ${start}-${end - 1}/${size}`)
  res.setHeader('Content-Length', String(end - start))
  if (req.method === 'HEAD' || end === start) {
    res.end()
    return
  }
  const body = torrent.createReadStream(index, { start, end })
  active.add(body)
  const done = () => active.delete(body)
  body.once('close', done)
  body.once('error', (err) => {
    done()
    body.unpipe(res)
    if (!res.headersSent) {
      // nothing sent yet: say why
      res.removeHeader('Content-Range')
      res.removeHeader('Content-Disposition')
      return text(res, 503, `cannot read ${file.name}: ${err.message}`)
    }
    // the status line is out: the only way to say "failed" is to cut the response short
    res.destroy(err)
  })
  res.once('close', () => {
    if (!body.destroyed) body.destroy()
    done()
  })
  body.pipe(res)
}

function text(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status
  res.setHeader('Content-Type', 'text/plain; charset=utf-8')
  res.setHeader('Content-Length', String(Buffer.byteLength(body) + 1))
  res.end(`${body}\n`)
}

function html(res: ServerResponse, req: IncomingMessage, body: string): void {
  res.statusCode = 200
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.setHeader('Content-Length', String(Buffer.byteLength(body)))
  res.setHeader('Cache-Control', 'no-store')
  res.end(req.method === 'HEAD' ? undefined : body)
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

const percent = (f: number | undefined): string => `${Math.floor(Math.max(0, Math.min(1, f ?? 0)) * 1000) / 10}%`

function page(title: string, items: string): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n<body><h1>${escapeHtml(title)}</h1>\n<ul>\n${items}</ul>\n</body></html>\n`
}

function indexPage(torrents: readonly ServedTorrent[]): string {
  const items = torrents
    .map((t) => `<li><a href="/${encodeURIComponent(t.id)}/">${escapeHtml(t.name)}</a> ${percent(t.progress().fractionDone)}</li>\n`)
    .join('')
  return page('torrents', items)
}

function torrentPage(t: ServedTorrent): string {
  const progress = t.progress()
  const items = t
    .files()
    .map((f, i) => `<li><a href="${filePath(t, i)}">${escapeHtml(f.name)}</a> ${f.length} bytes, ${percent(progress.files?.[i] ?? progress.fractionDone)}</li>\n`)
    .join('')
  return page(`${t.name} (${percent(progress.fractionDone)})`, items)
}
