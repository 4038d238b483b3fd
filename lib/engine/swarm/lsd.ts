/**
 * BEP 14 Local Service Discovery: announce our infohashes to the LAN by
 * IPv4 multicast (239.192.152.143:6771) and hear other clients do the same.
 *
 * Written here rather than using npm `bittorrent-lsd` 2.0.3 because that one
 * cannot choose the multicast interface (so it cannot be kept on loopback for
 * tests, and always sends on the default route), binds the fixed port only,
 * and throws out of its UDP handler on a one-line datagram (anyone on the LAN
 * could crash the process). Here the interface, the group port and the
 * announce interval are options, and every datagram is parsed defensively.
 *
 * IPv4 only (the IPv6 group ff15::efc0:988f is not joined).
 *
 * @module
 */
import { EventEmitter } from 'node:events'
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'

/** BEP 14's IPv4 multicast group and port. */
export const LSD_GROUP = '239.192.152.143'
export const LSD_PORT = 6771
const MAX_DATAGRAM = 1400
const MAX_HASHES_PER_ANNOUNCE = 16

/** Options of {@link createLsd}. */
export interface LsdOptions {
  /** Our BitTorrent TCP listen port, sent in announces. */
  readonly port: number
  /** Local interface address to send and join on (e.g. '127.0.0.1' in tests); default: the system's choice. */
  readonly interface?: string
  /** Multicast port (default 6771; tests use a free port of their own). */
  readonly groupPort?: number
  /** Re-announce every torrent this often (default 5 min, as BEP 14 suggests). */
  readonly intervalMs?: number
}

/** Events of an {@link Lsd}. */
export interface LsdEvents {
  /** A local client at `addr` ("ip:port") has `infoHash` (40 lowercase hex). */
  peer: [addr: string, infoHash: string]
  /** A datagram that was not a valid announce (ignored), or a socket problem. */
  warning: [reason: string]
}

/** A running LSD endpoint; see {@link createLsd}. */
export interface Lsd extends EventEmitter<LsdEvents> {
  /** Resolves once the socket is bound and joined to the group. */
  readonly ready: Promise<void>
  /** Start announcing `infoHash` (announces it now, then every `intervalMs`). */
  add(infoHash: string): void
  remove(infoHash: string): void
  /** Announce every added infohash now. */
  announce(): void
  destroy(): Promise<void>
}

/** Parse one BT-SEARCH datagram; null if it is not a valid announce. */
export function parseLsdAnnounce (msg: Uint8Array): { port: number; infoHashes: string[]; cookie: string | null } | null {
  if (msg.length > MAX_DATAGRAM) return null
  const lines = Buffer.from(msg).toString('latin1').split(/\r?\n/)
  if (lines[0] !== 'BT-SEARCH * HTTP/1.1') return null
  let port: number | null = null
  let cookie: string | null = null
  const infoHashes: string[] = []
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':')
    if (i <= 0) continue
    const name = line.slice(0, i).trim().toLowerCase()
    const value = line.slice(i + 1).trim()
    if (name === 'port' && /^\d{1,5}$/.test(value)) port = Number(value)
    else if (name === 'infohash' && /^[0-9a-fA-F]{40}$/.test(value) && infoHashes.length < MAX_HASHES_PER_ANNOUNCE) infoHashes.push(value.toLowerCase())
    else if (name === 'cookie') cookie = value
  }
  if (port === null || port <= 0 || port > 65535 || infoHashes.length === 0) return null
  return { port, infoHashes, cookie }
}

/**
 * Start LSD.
 *
 * @example
 * const lsd = createLsd({ port: listenPort })
 * lsd.on('peer', (addr, infoHash) => torrents.get(infoHash)?.addPeer(addr, 'lsd'))
 * await lsd.ready
 * lsd.add(infoHash)        // not for private torrents
 */
export function createLsd (opts: LsdOptions): Lsd {
  const groupPort = opts.groupPort ?? LSD_PORT
  const intervalMs = opts.intervalMs ?? 5 * 60_000
  const cookie = randomBytes(8).toString('hex')
  const hashes = new Set<string>()
  const lsd = new EventEmitter<LsdEvents>() as Lsd
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  let closed = false
  const warn = (reason: string): void => { if (lsd.listenerCount('warning') > 0) lsd.emit('warning', reason) }

  const ready = new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(groupPort, () => {
      socket.off('error', reject)
      try {
        socket.addMembership(LSD_GROUP, opts.interface)
        if (opts.interface !== undefined) socket.setMulticastInterface(opts.interface)
        socket.setMulticastTTL(1) // link-local: never routed beyond the LAN
        socket.setMulticastLoopback(true) // other clients on this host hear us too
        resolve()
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)))
      }
    })
  })
  ready.catch(() => {})
  socket.on('error', (err) => warn(`lsd socket: ${err.message}`))
  socket.on('message', (msg, rinfo) => {
    const a = parseLsdAnnounce(msg)
    if (a === null) { warn(`invalid LSD datagram from ${rinfo.address}`); return }
    if (a.cookie === cookie) return // our own announce, looped back
    for (const h of a.infoHashes) lsd.emit('peer', `${rinfo.address}:${a.port}`, h)
  })

  const send = (list: readonly string[]): void => {
    if (closed || list.length === 0) return
    for (let i = 0; i < list.length; i += MAX_HASHES_PER_ANNOUNCE) {
      const body = 'BT-SEARCH * HTTP/1.1\r\n' +
        `Host: ${LSD_GROUP}:${groupPort}\r\n` +
        `Port: ${opts.port}\r\n` +
        list.slice(i, i + MAX_HASHES_PER_ANNOUNCE).map(h => `Infohash: ${h}\r\n`).join('') +
        `cookie: ${cookie}\r\n\r\n\r\n`
      socket.send(body, groupPort, LSD_GROUP, (err) => { if (err) warn(`lsd send: ${err.message}`) })
    }
  }

  const timer = setInterval(() => send([...hashes]), intervalMs)
  timer.unref()

  return Object.assign(lsd, {
    ready,
    add (infoHash: string) {
      const h = infoHash.toLowerCase()
      if (!/^[0-9a-f]{40}$/.test(h) || hashes.has(h)) return
      hashes.add(h)
      void ready.then(() => send([h]), () => {})
    },
    remove (infoHash: string) { hashes.delete(infoHash.toLowerCase()) },
    announce () { void ready.then(() => send([...hashes]), () => {}) },
    destroy: () => new Promise<void>(resolve => {
      if (closed) { resolve(); return }
      closed = true
      clearInterval(timer)
      try { socket.close(() => resolve()) } catch { resolve() }
    })
  })
}
