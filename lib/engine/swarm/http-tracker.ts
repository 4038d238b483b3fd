/**
 * One announce to an HTTP(S) tracker (BEP 3): the query (info hash and peer
 * id percent-encoded, `compact=1`, `numwant`, `key`, `event`, `trackerid`,
 * and `ip` when the external address is known), redirects followed up to a
 * limit, the answer read up to a size cap and parsed by tracker-reply.ts.
 * A tracker that does not answer in time, answers junk or too much is an
 * {@link AnnounceError} saying which.
 *
 * @internal
 * @module
 */
import { AnnounceError, httpReply, type AnnounceParams, type AnnounceReply } from './tracker-reply.ts'
import { httpGet } from './http-get.ts'

/** Largest announce answer read (libtorrent's default cap is the same 1 MiB). */
export const MAX_HTTP_ANSWER = 1024 * 1024

/** Redirects followed before an announce gives up. */
export const MAX_REDIRECTS = 5

/** Options of {@link announceHttp}. */
export interface HttpAnnounceOptions {
  /** Give up after this long (ms); default 30 s. */
  readonly timeoutMs?: number
  /** Aborts the announce. */
  readonly signal?: AbortSignal
  /** Largest answer read (bytes); default {@link MAX_HTTP_ANSWER}. */
  readonly maxBytes?: number
}

/**
 * Every byte as `%xx`: how info hashes and peer ids travel in tracker queries.
 *
 * @example
 * ```ts
 * percentBytes(new Uint8Array([0xab, 0x01])) // '%ab%01'
 * ```
 */
export const percentBytes = (bytes: Uint8Array): string => {
  let s = ''
  for (const b of bytes) s += `%${b < 16 ? '0' : ''}${b.toString(16)}`
  return s
}

/**
 * The announce URL with its query: the tracker's own query (a passkey, say) is kept.
 *
 * @example
 * ```ts
 * announceQuery('http://t.example/announce?pk=1', params)
 * // 'http://t.example/announce?pk=1&info_hash=%..&peer_id=%..&port=6881&uploaded=0&...'
 * ```
 */
export const announceQuery = (url: string, p: AnnounceParams): string => {
  const parts = [
    `info_hash=${percentBytes(p.infoHash)}`,
    `peer_id=${percentBytes(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${Math.floor(p.uploaded)}`,
    `downloaded=${Math.floor(p.downloaded)}`,
    `left=${Math.floor(p.left)}`,
    'compact=1',
    `numwant=${p.numwant}`,
    `key=${(p.key >>> 0).toString(16).padStart(8, '0')}`,
    ...(p.event !== undefined ? [`event=${p.event}`] : []),
    ...(p.trackerId !== undefined ? [`trackerid=${encodeURIComponent(p.trackerId)}`] : []),
    ...(p.ip !== undefined ? [`ip=${encodeURIComponent(p.ip)}`] : [])
  ]
  const hash = url.indexOf('#')
  const base = hash < 0 ? url : url.slice(0, hash)
  return `${base}${base.includes('?') ? '&' : '?'}${parts.join('&')}`
}

/**
 * One HTTP(S) announce.
 *
 * @throws {AnnounceError} on a refusal, junk, an HTTP error, too many redirects, an oversized answer or a timeout
 *
 * @example
 * ```ts
 * const reply = await announceHttp('http://127.0.0.1:6969/announce', params, { timeoutMs: 10_000 })
 * for (const { host, port } of reply.peers) dial(host, port)
 * ```
 */
export const announceHttp = async (url: string, p: AnnounceParams, opts: HttpAnnounceOptions = {}): Promise<AnnounceReply> => {
  const timeout = opts.timeoutMs ?? 30_000
  const signals = [AbortSignal.timeout(timeout), ...(opts.signal ? [opts.signal] : [])]
  const signal = AbortSignal.any(signals)
  let target = announceQuery(url, p)
  try {
    const cap = opts.maxBytes ?? MAX_HTTP_ANSWER
    for (let hop = 0; ; hop++) {
      const res = await httpGet(target, { signal, maxBytes: cap, headers: { 'user-agent': 'torrent-patron', 'accept-encoding': 'identity' } })
      if (res.status >= 300 && res.status < 400) {
        if (res.location === null) throw new AnnounceError(`HTTP ${res.status} without a Location`)
        if (hop >= MAX_REDIRECTS) throw new AnnounceError(`more than ${MAX_REDIRECTS} redirects`)
        const next = new URL(res.location, target)
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new AnnounceError(`redirected to ${next.protocol} (not HTTP)`)
        target = next.href
        continue
      }
      const body = res.body
      if (body === null) throw new AnnounceError(`answer larger than ${cap} bytes`)
      if (res.status < 200 || res.status > 299) {
        // A refusal with a reason is worth more than the status code.
        let reason = ''
        try {
          httpReply(body)
        } catch (err) {
          if ((err as Error).message.startsWith('tracker refused')) reason = `: ${(err as Error).message}`
        }
        throw new AnnounceError(`HTTP ${res.status}${reason}`)
      }
      return httpReply(body)
    }
  } catch (err) {
    if (err instanceof AnnounceError) throw err
    if (opts.signal?.aborted) throw new AnnounceError('aborted')
    if (signals[0]!.aborted) throw new AnnounceError(`no answer within ${Math.round(timeout / 1000)} s`)
    const e = err as Error & { code?: string }
    throw new AnnounceError(e.code ?? e.message ?? String(err))
  }
}
