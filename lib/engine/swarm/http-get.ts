/**
 * One HTTP(S) GET for the trackers (announce and scrape): Node's own
 * http/https client, loaded with the first request. The global `fetch`
 * would do, but its client (undici) costs about 10 MiB of resident memory
 * in the process once loaded, against about 2 MiB for node:http; an engine
 * talks to trackers a few times an hour. One connection per request
 * (`Connection: close`, no agent): nothing is kept open between announces.
 *
 * @internal
 * @module
 */
import type { IncomingMessage } from 'node:http'

/** Options of {@link httpGet}. */
export interface HttpGetOptions {
  /** Aborts the request (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal
  /** Largest body read; a longer one gives `body: null` (the rest is not read). */
  readonly maxBytes: number
  /** Request headers. */
  readonly headers?: Readonly<Record<string, string>>
}

/** What {@link httpGet} got: the status, a redirect's Location, and the body (null: longer than `maxBytes`). */
export interface HttpAnswer {
  readonly status: number
  readonly location: string | null
  readonly body: Uint8Array | null
}

let http: Promise<typeof import('node:http')> | null = null
let https: Promise<typeof import('node:https')> | null = null

/**
 * GET `url` (http: or https:), without following redirects. Rejects with
 * Node's error (its `code`, e.g. ECONNREFUSED, says what failed) or the
 * signal's reason.
 *
 * @example
 * ```ts
 * const a = await httpGet('http://127.0.0.1:6969/announce?info_hash=...', { maxBytes: 1 << 20 })
 * if (a.status >= 300 && a.status < 400) console.log('redirect to', a.location)
 * ```
 */
export const httpGet = async (url: string, opts: HttpGetOptions): Promise<HttpAnswer> => {
  const target = new URL(url)
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`not an HTTP URL: ${url}`)
  // node:https (and TLS under it) loads only for an https: tracker.
  const request = target.protocol === 'https:' ? (await (https ??= import('node:https'))).request : (await (http ??= import('node:http'))).request
  const { signal } = opts
  signal?.throwIfAborted()
  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false
    const finish = (err: unknown, answer?: HttpAnswer): void => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      if (answer !== undefined) resolve(answer)
      else reject(err)
    }
    const req = request(target, { method: 'GET', agent: false, headers: { connection: 'close', ...opts.headers } })
    const onAbort = (): void => {
      finish(signal?.reason)
      req.destroy()
    }
    signal?.addEventListener('abort', onAbort)
    req.on('error', (e) => finish(e))
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0
      const location = typeof res.headers.location === 'string' ? res.headers.location : null
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        if (settled) return
        size += c.length
        if (size > opts.maxBytes) {
          finish(null, { status, location, body: null })
          req.destroy()
        } else chunks.push(c)
      })
      res.on('end', () => finish(null, { status, location, body: Buffer.concat(chunks) }))
      res.on('error', (e) => finish(e))
    })
    req.end()
  })
}
