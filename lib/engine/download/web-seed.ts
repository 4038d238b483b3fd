/**
 * A BEP 19 web seed as a source of whole pieces: runs of pieces are fetched
 * with one HTTP(S) Range request per file they touch (never 16 KiB blocks),
 * redirects are followed up to a limit, and every way a server can misbehave
 * (an error status, a Range it ignores, a body that is short, missing or
 * longer than asked, silence, a redirect loop) ends the fetch with a
 * {@link WebSeedError} naming the kind. Whether the bytes are right is the
 * hash check's call; {@link WebSeedHealth} turns outcomes into backoff.
 *
 * @internal
 * @module
 */
import type { Agent as HttpAgent, IncomingMessage } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import { fileSpans, fileUrl, WebSeedLayoutError, runBytes, type WebSeedLayout } from './web-seed-layout.ts'

/** How a web seed fetch failed. */
export type WebSeedErrorKind =
  | 'refused' // the URL cannot be built safely or uses an unsupported scheme
  | 'missing' // 404 / 410
  | 'busy' // 503 / 429
  | 'http' // any other unexpected status
  | 'no-range' // the server answered a partial request with the whole file or a wrong range
  | 'short' // the body ended early, or there was none
  | 'long' // the body ran past the bytes asked for
  | 'redirect' // too many redirects, or one without a usable Location
  | 'timeout' // no bytes for too long
  | 'network' // connection refused, reset, TLS failure ...
  | 'aborted' // the caller gave up

/** A failed web seed fetch. */
export class WebSeedError extends Error {
  override readonly name = 'WebSeedError'
  /**
   * @param kind what went wrong
   * @param message words for a user
   * @param retryAfterMs the server's Retry-After, when it sent one
   */
  constructor(readonly kind: WebSeedErrorKind, message: string, readonly retryAfterMs?: number) {
    super(message)
  }
}

/** Options of {@link WebSeed}. */
export interface WebSeedOptions {
  /** Redirects followed per request (default 5). */
  readonly maxRedirects?: number
  /** Give up when no bytes arrive for this long (ms, default 15 s). */
  readonly idleTimeoutMs?: number
  /** Extra CA certificates (PEM) trusted for HTTPS, e.g. a self-signed seed's. */
  readonly ca?: string | Buffer
  /** User-Agent header. */
  readonly userAgent?: string
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** node:http and node:https, loaded with the first web seed fetch (most torrents have no web seed). */
let clients: Promise<[typeof import('node:http'), typeof import('node:https')]> | null = null
const httpClients = (): Promise<[typeof import('node:http'), typeof import('node:https')]> =>
  (clients ??= Promise.all([import('node:http'), import('node:https')]))

/** A seed's two keep-alive agents and the request functions they go with. */
interface Clients {
  readonly http: HttpAgent
  readonly https: HttpsAgent
  readonly httpRequest: (typeof import('node:http'))['request']
  readonly httpsRequest: (typeof import('node:https'))['request']
}

/**
 * One web seed of one torrent.
 *
 * @example
 * ```ts
 * const seed = new WebSeed('http://127.0.0.1:8080/files/', metainfo)
 * const bytes = await seed.fetchPieces(0, 4) // pieces 0..3, to be hash-checked
 * seed.close()
 * ```
 */
export class WebSeed {
  /** Made on the first fetch; null until then and after close(). */
  private clients: Clients | null = null
  private closed = false
  private readonly opts: Required<Omit<WebSeedOptions, 'ca'>> & Pick<WebSeedOptions, 'ca'>

  /**
   * @param url the seed's URL as given in `url-list` or `ws=`
   * @param layout the torrent's files and pieces
   * @param options limits and TLS trust
   */
  constructor(readonly url: string, private readonly layout: WebSeedLayout, options: WebSeedOptions = {}) {
    this.opts = {
      maxRedirects: options.maxRedirects ?? 5,
      idleTimeoutMs: options.idleTimeoutMs ?? 15000,
      userAgent: options.userAgent ?? 'torrent-patron',
      ...(options.ca !== undefined ? { ca: options.ca } : {})
    }
  }

  /** The keep-alive agents, made once (after close(), fresh ones that are not kept: the fetch still runs). */
  private async agents(): Promise<Clients> {
    if (this.clients !== null) return this.clients
    const [http, https] = await httpClients()
    if (this.clients !== null) return this.clients
    const made: Clients = {
      http: new http.Agent({ keepAlive: !this.closed, maxSockets: 4 }),
      https: new https.Agent({ keepAlive: !this.closed, maxSockets: 4, ...(this.opts.ca !== undefined ? { ca: this.opts.ca } : {}) }),
      httpRequest: http.request,
      httpsRequest: https.request
    }
    if (!this.closed) this.clients = made
    return made
  }

  /**
   * The bytes of pieces `[first, first + count)`, concatenated (the last
   * piece may be short). Pad files read as zeros without a request.
   */
  async fetchPieces(first: number, count: number, signal?: AbortSignal): Promise<Buffer> {
    let spans
    let range
    try {
      range = runBytes(this.layout, first, count)
      spans = fileSpans(this.layout, first, count)
    } catch (err) {
      throw new WebSeedError('refused', (err as Error).message)
    }
    const out = Buffer.alloc(range.end - range.start)
    const clients = spans.some((span) => !span.pad) ? await this.agents() : null
    for (const span of spans) {
      if (span.pad) continue
      let url: string
      try {
        url = fileUrl(this.url, this.layout, span.file)
      } catch (err) {
        if (err instanceof WebSeedLayoutError) throw new WebSeedError('refused', err.message)
        throw err
      }
      const fileLength = this.layout.files[span.file]?.length ?? 0
      await this.getRange(clients!, url, span.fileOffset, span.length, fileLength, out, span.runOffset, this.opts.maxRedirects, signal)
    }
    return out
  }

  /** Close kept-alive connections. */
  close(): void {
    this.closed = true
    this.clients?.http.destroy()
    this.clients?.https.destroy()
    this.clients = null
  }

  private getRange(
    clients: Clients,
    url: string,
    offset: number,
    length: number,
    fileLength: number,
    out: Buffer,
    at: number,
    redirectsLeft: number,
    signal?: AbortSignal
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let target: URL
      try {
        target = new URL(url)
      } catch {
        return reject(new WebSeedError('redirect', `web seed: bad URL ${url}`))
      }
      if (target.protocol !== 'http:' && target.protocol !== 'https:')
        return reject(new WebSeedError('refused', `web seed: will not follow ${target.protocol} URL ${url}`))
      if (signal?.aborted) return reject(new WebSeedError('aborted', 'web seed: aborted'))
      const secure = target.protocol === 'https:'
      let settled = false
      const fail = (err: WebSeedError): void => {
        if (settled) return
        settled = true
        signal?.removeEventListener('abort', onAbort)
        req.destroy()
        reject(err)
      }
      const done = (): void => {
        if (settled) return
        settled = true
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      const onAbort = (): void => fail(new WebSeedError('aborted', 'web seed: aborted'))
      const req = (secure ? clients.httpsRequest : clients.httpRequest)(target, {
        agent: secure ? clients.https : clients.http,
        headers: { Range: `bytes=${offset}-${offset + length - 1}`, 'Accept-Encoding': 'identity', 'User-Agent': this.opts.userAgent }
      })
      signal?.addEventListener('abort', onAbort)
      req.setTimeout(this.opts.idleTimeoutMs, () => fail(new WebSeedError('timeout', `web seed ${url}: no answer for ${this.opts.idleTimeoutMs} ms`)))
      req.on('error', (err) => fail(new WebSeedError('network', `web seed ${url}: ${err.message}`)))
      req.on('response', (res) => {
        const status = res.statusCode ?? 0
        if (REDIRECTS.has(status)) {
          res.resume()
          const location = res.headers.location
          if (location === undefined) return fail(new WebSeedError('redirect', `web seed ${url}: redirect without a Location`))
          if (redirectsLeft <= 0) return fail(new WebSeedError('redirect', `web seed ${url}: more than ${this.opts.maxRedirects} redirects`))
          let next: string
          try {
            next = new URL(location, target).href
          } catch {
            return fail(new WebSeedError('redirect', `web seed ${url}: bad Location ${location}`))
          }
          settled = true
          signal?.removeEventListener('abort', onAbort)
          this.getRange(clients, next, offset, length, fileLength, out, at, redirectsLeft - 1, signal).then(resolve, reject)
          return
        }
        const problem = checkStatus(res, url, offset, length, fileLength)
        if (problem !== null) {
          res.resume()
          return fail(problem)
        }
        readExactly(res, out, at, length, url, fail, done)
      })
      req.end()
    })
  }
}

const retryAfter = (res: IncomingMessage): number | undefined => {
  const v = res.headers['retry-after']
  if (typeof v !== 'string') return undefined
  const seconds = Number(v)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const date = Date.parse(v)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

const checkStatus = (res: IncomingMessage, url: string, offset: number, length: number, fileLength: number): WebSeedError | null => {
  const status = res.statusCode ?? 0
  if (status === 404 || status === 410) return new WebSeedError('missing', `web seed ${url}: HTTP ${status}`)
  if (status === 503 || status === 429) return new WebSeedError('busy', `web seed ${url}: HTTP ${status}`, retryAfter(res))
  if (status === 200) {
    // A whole-file answer is right only when the whole file was asked for.
    if (offset === 0 && length === fileLength) return null
    return new WebSeedError('no-range', `web seed ${url}: the server ignores Range requests`)
  }
  if (status !== 206) return new WebSeedError('http', `web seed ${url}: HTTP ${status}`)
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''))
  if (m === null || Number(m[1]) !== offset || Number(m[2]) !== offset + length - 1)
    return new WebSeedError('no-range', `web seed ${url}: asked for bytes ${offset}-${offset + length - 1}, got ${res.headers['content-range'] ?? 'no Content-Range'}`)
  return null
}

const readExactly = (
  res: IncomingMessage,
  out: Buffer,
  at: number,
  length: number,
  url: string,
  fail: (err: WebSeedError) => void,
  done: () => void
): void => {
  let got = 0
  let over = false
  res.on('data', (chunk: Buffer) => {
    if (over) return
    if (got + chunk.length > length) {
      over = true
      return fail(new WebSeedError('long', `web seed ${url}: body longer than the ${length} bytes asked for`))
    }
    chunk.copy(out, at + got)
    got += chunk.length
  })
  res.on('end', () => {
    if (over) return
    if (got < length) fail(new WebSeedError('short', got === 0 ? `web seed ${url}: no body` : `web seed ${url}: body ended after ${got} of ${length} bytes`))
    else done()
  })
  res.on('aborted', () => fail(new WebSeedError('short', `web seed ${url}: connection closed after ${got} of ${length} bytes`)))
  res.on('error', (err) => fail(new WebSeedError('network', `web seed ${url}: ${err.message}`)))
}
