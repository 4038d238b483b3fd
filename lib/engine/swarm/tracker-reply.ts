/**
 * A tracker's answer to an announce, read from untrusted bytes: the bencoded
 * dictionary of an HTTP tracker (BEP 3, compact BEP 23 and dictionary peer
 * lists, BEP 7 `peers6`, `failure reason`, `warning message`, `interval`,
 * `min interval`, `tracker id`) or the datagram body of a UDP tracker
 * (BEP 15, 6-byte peers over IPv4 and 18-byte peers over IPv6). Parts that
 * are malformed but leave the rest usable become `problems`; an answer with
 * nothing usable is an {@link AnnounceError}. Nothing here throws anything else.
 *
 * @internal
 * @module
 */
import { isIP } from 'node:net'
import { bdecode, isBytes, isDict, isInt, isList, type BDict, type BValue } from '../metainfo/bdecode-guard.ts'
import type { HostPort } from './address.ts'

/** Most peers taken from one answer; the rest are dropped (a tracker rarely gives more than 200). */
export const MAX_PEERS_PER_ANSWER = 2000

/** What one announce says (shared by the HTTP and UDP clients). */
export interface AnnounceParams {
  /** 20 raw bytes. */
  readonly infoHash: Uint8Array
  /** 20 raw bytes. */
  readonly peerId: Uint8Array
  readonly port: number
  readonly uploaded: number
  readonly downloaded: number
  readonly left: number
  readonly event?: 'started' | 'completed' | 'stopped'
  readonly numwant: number
  /** 32 bits that identify us across address changes. */
  readonly key: number
  /** Our external address, when known (BEP 15 carries IPv4 only). */
  readonly ip?: string
  /** The tracker's `tracker id` from an earlier answer (HTTP only). */
  readonly trackerId?: string
}

/** A tracker's good answer. */
export interface AnnounceReply {
  /** Seconds until the next regular announce, when given. */
  readonly interval?: number
  /** Seconds the tracker wants between announces at least, when given. */
  readonly minInterval?: number
  /** The `tracker id` to send back in later announces. */
  readonly trackerId?: string
  /** Seeders (`complete`). */
  readonly complete?: number
  /** Leechers (`incomplete`). */
  readonly incomplete?: number
  /** Peers, IPv4 and IPv6 alike. */
  readonly peers: readonly HostPort[]
  /** The tracker's `warning message`. */
  readonly warning?: string
  /** Malformed parts that were skipped, in words. */
  readonly problems: readonly string[]
}

/** An announce that failed: refused by the tracker, unreachable, or answered with junk. */
export class AnnounceError extends Error {
  override readonly name = 'AnnounceError'
}

const text = (b: Uint8Array, max = 512): string => Buffer.from(b.subarray(0, max)).toString('utf8').replace(/[\x00-\x1f\x7f]/g, ' ')

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$/i

const compact = (bytes: Uint8Array, size: 6 | 18, out: HostPort[], problems: string[], key: string): void => {
  if (bytes.length % size !== 0) problems.push(`'${key}' is ${bytes.length} bytes, not a multiple of ${size} bytes`)
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  for (let i = 0; i + size <= buf.length && out.length < MAX_PEERS_PER_ANSWER; i += size) {
    const port = buf.readUInt16BE(i + size - 2)
    if (port === 0) continue
    const host = size === 6 ? `${buf[i]}.${buf[i + 1]}.${buf[i + 2]}.${buf[i + 3]}` : ipv6(buf, i)
    out.push({ host, port })
  }
}

const ipv6 = (buf: Buffer, at: number): string => {
  const groups: string[] = []
  for (let g = 0; g < 8; g++) groups.push(buf.readUInt16BE(at + g * 2).toString(16))
  // Let the URL parser write the canonical (shortest) form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1)
}

const dictPeers = (list: readonly BValue[], out: HostPort[], problems: string[]): void => {
  let bad = 0
  for (const item of list) {
    if (out.length >= MAX_PEERS_PER_ANSWER) break
    const ip = isDict(item) ? item.get('ip') : undefined
    const port = isDict(item) ? item.get('port') : undefined
    const host = isBytes(ip) ? Buffer.from(ip).toString('latin1') : ''
    const okHost = isIP(host) !== 0 || (host.length <= 253 && HOST_NAME.test(host))
    if (!okHost || !isInt(port) || port < 1 || port > 65535) {
      bad++
      continue
    }
    out.push({ host, port: Number(port) })
  }
  if (bad > 0) problems.push(`${bad} peer entr${bad === 1 ? 'y' : 'ies'} without a usable ip and port`)
}

const seconds = (d: BDict, key: string, problems: string[]): number | undefined => {
  const v = d.get(key)
  if (v === undefined) return undefined
  if (!isInt(v) || v < 0 || v > 0xffffffff) {
    problems.push(`'${key}' is not a number of seconds`)
    return undefined
  }
  return Number(v)
}

const count = (d: BDict, key: string): number | undefined => {
  const v = d.get(key)
  return isInt(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER ? Number(v) : undefined
}

/**
 * Read an HTTP tracker's announce answer (the response body).
 *
 * @throws {AnnounceError} when the body is not a bencoded dictionary or holds a `failure reason`
 *
 * @example
 * ```ts
 * const r = httpReply(new TextEncoder().encode('d8:intervali900e5:peers6:\x7f\x00\x00\x01\x1a\xe1e'))
 * r.interval // 900
 * r.peers    // [{ host: '127.0.0.1', port: 6881 }]
 * ```
 */
export const httpReply = (body: Uint8Array): AnnounceReply => {
  const decoded = bdecode(body, { allowTrailing: true })
  if (!decoded.ok) throw new AnnounceError(`the answer is not bencode (${decoded.reason})`)
  const root = decoded.value
  if (!isDict(root)) throw new AnnounceError('the answer is not a bencoded dictionary')
  const failure = root.get('failure reason')
  if (failure !== undefined) throw new AnnounceError(`tracker refused: ${isBytes(failure) ? text(failure) : 'no reason given'}`)
  const problems: string[] = []
  const peers: HostPort[] = []
  const v4 = root.get('peers')
  if (isBytes(v4)) compact(v4, 6, peers, problems, 'peers')
  else if (isList(v4)) dictPeers(v4, peers, problems)
  else if (v4 !== undefined) problems.push("'peers' is neither a string nor a list")
  const v6 = root.get('peers6')
  if (isBytes(v6)) compact(v6, 18, peers, problems, 'peers6')
  else if (v6 !== undefined) problems.push("'peers6' is not a string")
  const warning = root.get('warning message')
  const trackerId = root.get('tracker id')
  const interval = seconds(root, 'interval', problems)
  const minInterval = seconds(root, 'min interval', problems)
  const complete = count(root, 'complete')
  const incomplete = count(root, 'incomplete')
  return {
    ...(interval !== undefined && { interval }),
    ...(minInterval !== undefined && { minInterval }),
    ...(isBytes(trackerId) && trackerId.length > 0 && trackerId.length <= 256 && { trackerId: Buffer.from(trackerId).toString('latin1') }),
    ...(complete !== undefined && { complete }),
    ...(incomplete !== undefined && { incomplete }),
    peers,
    ...(isBytes(warning) && { warning: text(warning) }),
    problems
  }
}

/**
 * Read a UDP tracker's announce answer: the datagram after its 8-byte
 * action/transaction header. `family` is the tracker's address family: BEP 15
 * peers are 6 bytes over IPv4 and 18 bytes over IPv6.
 *
 * @throws {AnnounceError} when the body is shorter than its 12 fixed bytes
 *
 * @example
 * ```ts
 * const r = udpReply(body, 6)
 * r.interval, r.incomplete, r.complete, r.peers
 * ```
 */
export const udpReply = (body: Uint8Array, family: 4 | 6): AnnounceReply => {
  if (body.length < 12) throw new AnnounceError(`announce answer of ${body.length + 8} bytes is shorter than 20`)
  const buf = Buffer.from(body.buffer, body.byteOffset, body.length)
  const problems: string[] = []
  const peers: HostPort[] = []
  compact(buf.subarray(12), family === 6 ? 18 : 6, peers, problems, 'peers')
  return { interval: buf.readUInt32BE(0), incomplete: buf.readUInt32BE(4), complete: buf.readUInt32BE(8), peers, problems }
}
