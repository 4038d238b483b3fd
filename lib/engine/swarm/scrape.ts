/**
 * Tracker scrape: seeders, leechers and completed downloads of one torrent as
 * a tracker counts them, over HTTP (BEP 48: the announce URL with its last
 * `announce` segment turned into `scrape`) or UDP (BEP 15, action 2). A
 * tracker that answers junk, an error or nothing gives a {@link ScrapeError}
 * whose message says which and why; nothing here throws out of a callback.
 *
 * @internal
 * @module
 */
import { bdecode, isBytes, isDict, isInt, latin1, type BDict, type BValue } from '../metainfo/bdecode-guard.ts'
import { UDP_ACTION, u32, udpTrackerRequest } from './udp-tracker.ts'
import { MAX_REDIRECTS, percentBytes } from './http-tracker.ts'
import { httpGet } from './http-get.ts'

/** One tracker's counts for one torrent. */
export interface ScrapeCounts {
  /** Peers with the whole torrent. */
  readonly complete: number
  /** Peers still downloading. */
  readonly incomplete: number
  /** Completed downloads the tracker has seen. */
  readonly downloaded: number
}

/** Options of {@link scrape}. */
export interface ScrapeOptions {
  /** Give up after this long (ms); default 15 s. */
  readonly timeoutMs?: number
  /** Aborts the scrape. */
  readonly signal?: AbortSignal
}

/** A scrape that failed: unsupported, unreachable, refused or answered with junk. */
export class ScrapeError extends Error {
  override readonly name = 'ScrapeError'
}

/** Largest HTTP scrape answer read (one torrent's answer is under 100 bytes). */
const MAX_HTTP_BODY = 256 * 1024

/**
 * The BEP 48 scrape URL of an HTTP(S) announce URL, the URL itself for UDP,
 * or null when the tracker has no scrape convention (its last path segment
 * does not start with `announce`).
 *
 * @example
 * ```ts
 * scrapeUrlOf('http://t.example/x/announce?k=1') // 'http://t.example/x/scrape?k=1'
 * scrapeUrlOf('http://t.example/a')              // null
 * ```
 */
export const scrapeUrlOf = (announce: string): string | null => {
  if (/^udp:\/\//i.test(announce)) return announce
  if (!/^https?:\/\//i.test(announce)) return null
  const q = announce.indexOf('?')
  const path = q < 0 ? announce : announce.slice(0, q)
  const slash = path.lastIndexOf('/')
  if (slash < 0 || !path.startsWith('announce', slash + 1)) return null
  return `${path.slice(0, slash + 1)}scrape${path.slice(slash + 1 + 'announce'.length)}${q < 0 ? '' : announce.slice(q)}`
}

/**
 * Scrape one torrent from one tracker (`http://`, `https://` or `udp://`).
 *
 * @param announce the tracker's announce URL
 * @param infoHash 20 raw bytes
 *
 * @example
 * ```ts
 * const counts = await scrape('udp://127.0.0.1:6969', metainfo.infoHashBytes)
 * console.log(counts.complete, counts.incomplete, counts.downloaded)
 * ```
 */
export const scrape = async (announce: string, infoHash: Uint8Array, opts: ScrapeOptions = {}): Promise<ScrapeCounts> => {
  if (infoHash.length !== 20) throw new ScrapeError('scrape: the info hash must be 20 bytes')
  const url = scrapeUrlOf(announce)
  if (url === null) throw new ScrapeError(`scrape: ${announce} has no scrape URL (its path does not end in /announce)`)
  try {
    return /^udp:/i.test(url) ? await scrapeUdp(url, infoHash, opts) : await scrapeHttp(url, infoHash, opts)
  } catch (err) {
    if (err instanceof ScrapeError) throw err
    throw new ScrapeError(`scrape ${announce}: ${(err as Error)?.message ?? String(err)}`)
  }
}

const scrapeHttp = async (url: string, infoHash: Uint8Array, opts: ScrapeOptions): Promise<ScrapeCounts> => {
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? 15000), ...(opts.signal ? [opts.signal] : [])]
  const signal = AbortSignal.any(signals)
  let target = `${url}${url.includes('?') ? '&' : '?'}info_hash=${percentBytes(infoHash)}`
  for (let hop = 0; ; hop++) {
    const res = await httpGet(target, { signal, maxBytes: MAX_HTTP_BODY })
    if (res.status >= 300 && res.status < 400 && res.location !== null && hop < MAX_REDIRECTS) {
      const next = new URL(res.location, target)
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new ScrapeError(`scrape ${url}: redirected to ${next.protocol} (not HTTP)`)
      target = next.href
      continue
    }
    if (res.status < 200 || res.status > 299) throw new ScrapeError(`scrape ${url}: HTTP ${res.status}`)
    if (res.body === null) throw new ScrapeError(`scrape ${url}: answer larger than ${MAX_HTTP_BODY} bytes`)
    return countsOf(res.body, infoHash, url)
  }
}

const countsOf = (body: Uint8Array, infoHash: Uint8Array, url: string): ScrapeCounts => {
  const decoded = bdecode(body)
  if (!decoded.ok) throw new ScrapeError(`scrape ${url}: the answer is not bencode (${decoded.reason})`)
  return countsFromBencode(decoded.value, infoHash, url)
}

const count = (d: BDict, key: string, url: string): number => {
  const v = d.get(key)
  if (v === undefined) return 0
  if (!isInt(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) throw new ScrapeError(`scrape ${url}: '${key}' is not a count`)
  return Number(v)
}

/**
 * The counts for `infoHash` in a decoded BEP 48 answer, or a ScrapeError.
 *
 * @example
 * ```ts
 * countsFromBencode(bdecodeOk(body), hash, url) // { complete: 1, incomplete: 0, downloaded: 3 }
 * ```
 */
export const countsFromBencode = (root: BValue, infoHash: Uint8Array, url: string): ScrapeCounts => {
  if (!isDict(root)) throw new ScrapeError(`scrape ${url}: the answer is not a dictionary`)
  const failure = root.get('failure reason')
  if (isBytes(failure)) throw new ScrapeError(`scrape ${url}: tracker refused: ${Buffer.from(failure.subarray(0, 512)).toString('utf8')}`)
  const files = root.get('files')
  if (!isDict(files)) throw new ScrapeError(`scrape ${url}: the answer has no 'files' dictionary`)
  // bittorrent-tracker's server (WebTorrent's) writes the key as the UTF-8
  // encoding of the hash's bytes read as latin1: accept that spelling too.
  const key = latin1(infoHash)
  const entry = files.get(key) ?? files.get(latin1(Buffer.from(key, 'utf8')))
  // A tracker that does not know the torrent lists nothing for it: zero peers.
  if (entry === undefined) return { complete: 0, incomplete: 0, downloaded: 0 }
  if (!isDict(entry)) throw new ScrapeError(`scrape ${url}: the torrent's entry is not a dictionary`)
  return { complete: count(entry, 'complete', url), incomplete: count(entry, 'incomplete', url), downloaded: count(entry, 'downloaded', url) }
}

const scrapeUdp = async (url: string, infoHash: Uint8Array, opts: ScrapeOptions): Promise<ScrapeCounts> => {
  const { body } = await udpTrackerRequest(
    url,
    UDP_ACTION.scrape,
    (connectionId, tx) => Buffer.concat([connectionId, u32(UDP_ACTION.scrape), tx, infoHash]),
    opts
  )
  if (body.length < 12) throw new ScrapeError(`scrape ${url}: answer of ${body.length + 8} bytes holds no counts`)
  return { complete: body.readUInt32BE(0), downloaded: body.readUInt32BE(4), incomplete: body.readUInt32BE(8) }
}
