/**
 * Magnet URIs (BEP 9, BEP 52): `magnet:?xt=urn:btih:<hash>&xt=urn:btmh:1220<hash>&dn=<name>&tr=<tracker>&x.pe=<host:port>`.
 * Own code rather than `magnet-uri` so that every refusal has a reason, bad
 * percent-encoding cannot throw, and lists are bounded.
 *
 * @module
 */
import type { Magnet, ParseResult } from '../contracts.ts'
import { MAX_MAGNET_LENGTH, MAX_TRACKERS } from './limits.ts'

const TRACKER_SCHEMES = ['http:', 'https:', 'udp:', 'ws:', 'wss:']
const WEB_SEED_SCHEMES = ['http:', 'https:']
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/**
 * Options of {@link parseMagnet}.
 *
 * @example
 * ```ts
 * const r = parseMagnet('magnet:?xt=urn:btmh:1220' + 'ab'.repeat(32), { acceptV2Only: true })
 * if (r.ok) console.log(r.value.infoHashV2)
 * ```
 */
export interface MagnetOptions {
  /** Accept magnets with only a v2 hash (`urn:btmh`); off by default, as for .torrent files. */
  readonly acceptV2Only?: boolean
}

/**
 * Parse a magnet URI. Never throws.
 * Accepts a 40-hex or 32-char base32 `btih` hash (returned as lowercase hex), a
 * BEP 52 `btmh` hash (`1220` and 64 hex: a SHA-256 multihash), both for a hybrid,
 * `dn` (display name), `tr` (trackers; `tr.1`, `tr.2`... too), `ws` (BEP 19 web
 * seeds, http and https) and `x.pe` (peer hints).
 * With only a v2 hash, `infoHash` is its first 20 bytes (the swarm's key on the wire).
 *
 * @example
 * const r = parseMagnet('magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=demo&tr=udp%3A%2F%2F127.0.0.1%3A6969')
 * if (r.ok) console.log(r.value.infoHash, r.value.name, r.value.announce)
 */
export function parseMagnet (uri: string, opts: MagnetOptions = {}): ParseResult<Magnet> {
  try {
    return parse(uri, opts)
  } catch (err) {
    return refuse(`internal error (${err instanceof Error ? err.message : String(err)})`)
  }
}

const refuse = (reason: string): ParseResult<Magnet> => ({ ok: false, reason: `magnet: ${reason}` })

function parse (uri: string, opts: MagnetOptions): ParseResult<Magnet> {
  if (typeof uri !== 'string') return refuse('not a string')
  if (uri.length > MAX_MAGNET_LENGTH) return refuse(`URI is longer than ${MAX_MAGNET_LENGTH} characters`)
  const m = /^magnet:\?(.*)$/is.exec(uri.trim())
  if (m === null) return refuse('not a magnet URI (must start with "magnet:?")')
  let infoHash: string | null = null
  let v2: string | null = null
  let name: string | undefined
  const trackers: string[] = []
  const peers: string[] = []
  const webSeeds: string[] = []
  for (const part of (m[1] as string).split('&')) {
    if (part.length === 0) continue
    const eq = part.indexOf('=')
    const key = (eq < 0 ? part : part.slice(0, eq)).toLowerCase()
    const raw = eq < 0 ? '' : part.slice(eq + 1)
    const value = decode(raw)
    if (value === null) return refuse(`bad percent-encoding in "${key}"`)
    const base = key.replace(/\.\d+$/, '')
    if (base === 'xt') {
      const bt = /^urn:btih:(.*)$/i.exec(value)
      if (bt !== null) {
        const hash = btihToHex(bt[1] as string)
        if (hash === null) return refuse('info hash must be 40 hex or 32 base32 characters (xt=urn:btih:...)')
        if (infoHash !== null && infoHash !== hash) return refuse('two different info hashes in one magnet')
        infoHash = hash
      } else if (/^urn:btmh:/i.test(value)) {
        const mh = /^urn:btmh:1220([0-9a-f]{64})$/i.exec(value)
        if (mh === null) return refuse('v2 info hash must be a SHA-256 multihash: xt=urn:btmh:1220 and 64 hex characters')
        const hash = (mh[1] as string).toLowerCase()
        if (v2 !== null && v2 !== hash) return refuse('two different v2 info hashes in one magnet')
        v2 = hash
      }
    } else if (base === 'dn') {
      // A display name only: the real name comes from the validated info dictionary.
      name = value.replace(/[\x00-\x1f\x7f]/g, '').slice(0, 1024)
    } else if (base === 'tr') {
      if (trackers.length < MAX_TRACKERS && isTrackerUrl(value) && !trackers.includes(value)) trackers.push(value)
    } else if (base === 'ws') {
      if (webSeeds.length < MAX_TRACKERS && isUrlOf(value, WEB_SEED_SCHEMES) && !webSeeds.includes(value)) webSeeds.push(value)
    } else if (base === 'x.pe') {
      const peer = normalisePeer(value)
      if (peer === null) return refuse(`peer hint "${value.slice(0, 80)}" is not host:port`)
      if (peers.length < MAX_TRACKERS && !peers.includes(peer)) peers.push(peer)
    }
  }
  if (infoHash === null && v2 === null) return refuse('no BitTorrent info hash (xt=urn:btih:... or xt=urn:btmh:1220...)')
  if (infoHash === null && opts.acceptV2Only !== true) return refuse('BitTorrent v2-only magnets (urn:btmh, BEP 52) are not supported yet')
  const value: Magnet = {
    infoHash: infoHash ?? (v2 as string).slice(0, 40),
    ...(v2 === null ? {} : { infoHashV2: v2 }),
    ...(name === undefined ? {} : { name }),
    announce: trackers,
    peers,
    ...(webSeeds.length > 0 ? { webSeeds } : {})
  }
  return { ok: true, value }
}

function decode (s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    return null
  }
}

/**
 * 40 hex chars, or 32 base32 chars (RFC 4648, no padding) decoded to 40 lowercase hex; else null.
 *
 * @example
 * btihToHex('YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK') // 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a'
 */
export function btihToHex (s: string): string | null {
  if (/^[0-9a-f]{40}$/i.test(s)) return s.toLowerCase()
  if (!/^[a-z2-7]{32}$/i.test(s)) return null
  let bits = 0
  let acc = 0
  const out: number[] = []
  for (const ch of s.toLowerCase()) {
    acc = (acc << 5) | BASE32.indexOf(ch)
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out.push((acc >> bits) & 0xff)
    }
  }
  return out.map(b => b.toString(16).padStart(2, '0')).join('')
}

function isTrackerUrl (s: string): boolean {
  return isUrlOf(s, TRACKER_SCHEMES)
}

function isUrlOf (s: string, schemes: readonly string[]): boolean {
  if (s.length > 2048 || /[\x00-\x1f\x7f\s]/.test(s)) return false
  try {
    return schemes.includes(new URL(s).protocol)
  } catch {
    return false
  }
}

/** `1.2.3.4:6881`, `[::1]:6881` or `host.name:6881`, port 1..65535. */
function normalisePeer (s: string): string | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))?:([0-9]{1,5})$/.exec(s)
  if (m === null || m[1] === undefined) return null
  const port = Number(m[2])
  if (port < 1 || port > 65535) return null
  const host = m[1]
  if (/^[0-9.]+$/.test(host) && host.split('.').some(o => Number(o) > 255)) return null
  return `${host}:${port}`
}
