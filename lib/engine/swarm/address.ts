/**
 * Peer addresses as the engine passes them around: `host:port` strings, with
 * IPv6 hosts in brackets (`[::1]:6881`). Trackers, the DHT, PEX, the metadata
 * phase and the torrent's peer list all parse them here, so a bracketed or an
 * IPv4-mapped IPv6 host means the same peer wherever it was learnt.
 *
 * @internal
 * @module
 */
import { isIP } from 'node:net'

/** A peer's host (without brackets) and port. */
export interface HostPort {
  /** IPv4 dotted quad, IPv6 without brackets, or a name. */
  readonly host: string
  /** 1 to 65535. */
  readonly port: number
}

/**
 * The host without IPv6 brackets and without the `::ffff:` prefix of an
 * IPv4-mapped address (sockets of a dual-stack listener report IPv4 peers so).
 *
 * @example
 * ```ts
 * bareHost('[::1]')             // '::1'
 * bareHost('::ffff:127.0.0.1')  // '127.0.0.1'
 * ```
 */
export const bareHost = (host: string): string => {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  return h.startsWith('::ffff:') && isIP(h.slice(7)) === 4 ? h.slice(7) : h
}

/**
 * Split `host:port` (`[v6]:port` for IPv6; a bare IPv6 host with a port after
 * its last colon is accepted too, as some trackers send it). Null when the port
 * is not an integer in 1..65535 or the host is empty.
 *
 * @example
 * ```ts
 * parseAddress('127.0.0.1:6881')  // { host: '127.0.0.1', port: 6881 }
 * parseAddress('[::1]:6881')      // { host: '::1', port: 6881 }
 * parseAddress('x:0')             // null
 * ```
 */
export const parseAddress = (addr: string): HostPort | null => {
  const i = addr.lastIndexOf(':')
  if (i <= 0) return null
  const portText = addr.slice(i + 1)
  if (!/^\d{1,5}$/.test(portText)) return null
  const port = Number(portText)
  const host = bareHost(addr.slice(0, i))
  if (host.length === 0 || port < 1 || port > 65535) return null
  return { host, port }
}

/**
 * `host:port`, with brackets around an IPv6 host: the one spelling the engine
 * uses as a peer's key.
 *
 * @example
 * ```ts
 * formatAddress('::1', 6881)       // '[::1]:6881'
 * formatAddress('10.0.0.1', 6881)  // '10.0.0.1:6881'
 * ```
 */
export const formatAddress = (host: string, port: number): string => {
  const h = bareHost(host)
  return isIP(h) === 6 ? `[${h}]:${port}` : `${h}:${port}`
}

/**
 * The address family of a bare host: 4, 6, or 0 for a name.
 *
 * @example
 * ```ts
 * familyOf('::1') // 6
 * ```
 */
export const familyOf = (host: string): 0 | 4 | 6 => isIP(bareHost(host)) as 0 | 4 | 6

/**
 * Where a peer that dialled us listens: its connection's IP with the port of
 * its BEP 10 extended handshake's `p`. Null without a usable `p` (absent, not
 * an integer in 1..65535) or when the remote host is not an IP.
 *
 * @example
 * ```ts
 * listenAddressOf('::ffff:10.0.0.2', { p: 51413 })  // '10.0.0.2:51413'
 * listenAddressOf('10.0.0.2', { v: 'client' })     // null
 * ```
 */
export const listenAddressOf = (remoteHost: string | undefined, extendedHandshake: unknown): string | null => {
  const p = (extendedHandshake as { p?: unknown } | null | undefined)?.p
  if (remoteHost === undefined || typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) return null
  return familyOf(remoteHost) === 0 ? null : formatAddress(remoteHost, p)
}
