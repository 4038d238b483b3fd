/**
 * uTP (BEP 29) as a transport beside TCP: one UDP socket that both accepts
 * incoming uTP connections and dials outgoing ones, as libtorrent does, so the
 * peer sees our outgoing connections come from the port we listen on.
 *
 * The congestion control and the packet format are libutp's, through the
 * optional native module `utp-native` (N-API prebuilds for linux-x64, macOS
 * and Windows). Where it cannot load, {@link utpStatus} says why and the
 * engine runs on TCP alone.
 *
 * libutp announces a connection on its first SYN, before any byte of the
 * BitTorrent handshake: a flood of SYNs (or of any datagram that looks like
 * one) would pile up connection objects. The endpoint caps the connections
 * that have not yet been handed on ({@link MAX_UTP_PENDING}) and closes any
 * that stays silent for {@link UTP_IDLE_TIMEOUT}. Datagrams that are not uTP
 * are dropped by libutp itself.
 *
 * @internal
 * @module
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isIPv4 } from 'node:net'
import { dirname, join } from 'node:path'
import type { Duplex } from 'node:stream'

/**
 * Whether uTP can be used in this process, and if not, why.
 *
 * @example
 * ```ts
 * const s = utpStatus()
 * console.log(s.available ? 'uTP on' : `uTP unavailable: ${s.reason}`)
 * ```
 */
export type UtpStatus = { readonly available: true } | { readonly available: false; readonly reason: string }

/** A uTP connection: a byte duplex with the peer's address, like a net.Socket for our purposes. */
export interface UtpConnection extends Duplex {
  readonly remoteAddress: string
  readonly remotePort: number
  /** Emit 'timeout' after `ms` without a received packet (refreshed on each). */
  setTimeout(ms: number, ontimeout?: () => void): void
}

/** What we use of utp-native's socket (index.js, 2.x). */
interface NativeSocket {
  connections: unknown[]
  maxConnections: number
  listen(port: number, host: string): void
  connect(port: number, host: string): UtpConnection
  address(): { address: string; port: number }
  close(cb?: () => void): void
  unref(): void
  on(event: 'connection', cb: (c: UtpConnection) => void): this
  on(event: 'error', cb: (e: Error) => void): this
  on(event: 'message', cb: (m: Uint8Array) => void): this
  once(event: 'listening', cb: () => void): this
  once(event: 'error', cb: (e: Error) => void): this
  removeListener(event: string, cb: (...a: never[]) => void): this
}
type NativeFactory = () => NativeSocket

/** Connections accepted but not yet handed on (see the module comment). */
export const MAX_UTP_PENDING = 256

/** A connection (pending or handed on) with no packet for this long (ms) is closed. */
export const UTP_IDLE_TIMEOUT = 120_000

/** How long (ms) closing an endpoint waits for libutp to close its connections gracefully. */
export const CLOSE_GRACE = 2000

/** A pending connection that sends nothing for this long (ms) is closed. */
export const UTP_PENDING_TIMEOUT = 10_000

let loaded: { factory: NativeFactory | null; status: UtpStatus } | null = null

const load = (): { factory: NativeFactory | null; status: UtpStatus } => {
  if (loaded) return loaded
  if (process.env.TORRENT_PATRON_UTP === 'off') {
    loaded = { factory: null, status: { available: false, reason: 'turned off by TORRENT_PATRON_UTP=off' } }
    return loaded
  }
  try {
    const factory = createRequire(import.meta.url)('utp-native') as NativeFactory
    if (typeof factory !== 'function') throw new Error('utp-native exports no socket factory')
    loaded = { factory, status: { available: true } }
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0]! : String(e)
    loaded = { factory: null, status: { available: false, reason } }
  }
  return loaded
}

/**
 * Can uTP be used here? Loads `utp-native` once (in a try) and remembers the
 * answer. `TORRENT_PATRON_UTP=off` in the environment turns uTP off.
 *
 * @example
 * ```ts
 * if (!utpStatus().available) console.log('TCP only')
 * ```
 */
export const utpStatus = (): UtpStatus => load().status

/**
 * What is installed, without loading it: whether `utp-native` is there with
 * a build for this platform (loading the module costs about 25 ms, too much
 * for `torrent-patron --version`). {@link utpStatus} is the final word: it
 * loads the module, as the engine does when it starts.
 *
 * @example
 * ```ts
 * const i = utpInstalled()
 * console.log(i.available ? `utp-native built for ${i.build}` : i.reason)
 * ```
 */
export const utpInstalled = (): { readonly available: true; readonly build: string } | { readonly available: false; readonly reason: string } => {
  if (process.env.TORRENT_PATRON_UTP === 'off') return { available: false, reason: 'turned off by TORRENT_PATRON_UTP=off' }
  let dir: string
  try {
    dir = dirname(createRequire(import.meta.url).resolve('utp-native'))
  } catch {
    return { available: false, reason: 'utp-native is not installed' }
  }
  const target = `${process.platform}-${process.arch}`
  if (existsSync(join(dir, 'prebuilds', target))) return { available: true, build: target }
  if (existsSync(join(dir, 'build', 'Release'))) return { available: true, build: 'a local build' }
  return { available: false, reason: `utp-native has no build for ${target}` }
}

/** One UDP port speaking uTP: accepts and dials. */
export interface UtpEndpoint {
  /** The UDP port bound. */
  readonly port: number
  /** Dial `host:port` (IPv4 only: libutp's socket is IPv4). */
  connect(port: number, host: string): UtpConnection
  /** Stop accepting and dialling, destroy every connection. Idempotent. */
  close(): Promise<void>
}

/**
 * What the endpoint does with an accepted connection: `onConnection` takes it
 * and must call `release()` once it has read the peer's handshake (or given up
 * on it), which frees its place among the {@link MAX_UTP_PENDING}.
 */
export type UtpAccept = (conn: UtpConnection, release: () => void) => void

/** Limits of an endpoint (defaults: {@link MAX_UTP_PENDING}, {@link UTP_PENDING_TIMEOUT}). */
export interface UtpLimits {
  readonly maxPending?: number
  readonly pendingTimeout?: number
}

/**
 * Bind a uTP endpoint on `port` (0 = any free port) of `host` (default every
 * IPv4 address) and hand each accepted connection to `accept`. Rejects with
 * "uTP unavailable: <reason>" where utp-native cannot load, and with the bind
 * error when the port is taken.
 *
 * @example
 * ```ts
 * const ep = await openUtp(0, '127.0.0.1', (conn, release) => {
 *   conn.once('data', () => release())
 *   conn.pipe(conn)
 * })
 * const c = ep.connect(ep.port, '127.0.0.1')
 * c.end('hello')
 * await ep.close()
 * ```
 */
export const openUtp = (
  port: number,
  host: string | undefined,
  accept: UtpAccept,
  limits: UtpLimits = {}
): Promise<UtpEndpoint> => {
  const maxPending = limits.maxPending ?? MAX_UTP_PENDING
  const pendingTimeout = limits.pendingTimeout ?? UTP_PENDING_TIMEOUT
  const { factory, status } = load()
  // libutp's socket is IPv4: an IPv6 host would make utp-native resolve it again and again.
  if (host !== undefined && !isIPv4(host)) return Promise.reject(new Error(`uTP unavailable: IPv4 only, not ${host}`))
  if (!factory) return Promise.reject(new Error(`uTP unavailable: ${status.available ? 'not loaded' : status.reason}`))
  let socket: NativeSocket
  try {
    socket = factory()
  } catch (e) {
    return Promise.reject(new Error(`uTP unavailable: ${e instanceof Error ? e.message : String(e)}`))
  }
  const pending = new Set<UtpConnection>()
  const all = new Set<UtpConnection>()
  let closed = false

  const track = (conn: UtpConnection): void => {
    all.add(conn)
    // Every connection error (reset, refused, timed out) is the owner's to see;
    // without a listener here an unheard one would crash the process.
    conn.on('error', () => {})
    conn.once('close', () => {
      all.delete(conn)
      pending.delete(conn)
    })
    conn.setTimeout(UTP_IDLE_TIMEOUT, () => conn.destroy())
  }

  socket.on('connection', (conn) => {
    track(conn)
    if (closed || pending.size >= maxPending) {
      conn.destroy()
      return
    }
    pending.add(conn)
    const timer = setTimeout(() => {
      if (pending.has(conn)) conn.destroy()
    }, pendingTimeout)
    timer.unref?.()
    const release = (): void => {
      clearTimeout(timer)
      pending.delete(conn)
    }
    try {
      accept(conn, release)
    } catch {
      release()
      conn.destroy()
    }
  })
  // Datagrams that are not uTP (libutp passes them up): dropped.
  socket.on('message', () => {})

  return new Promise((resolve, reject) => {
    const fail = (e: Error): void => {
      closed = true
      try {
        socket.close()
      } catch {
        // never bound: nothing to close
      }
      reject(e)
    }
    socket.once('error', fail)
    socket.once('listening', () => {
      socket.removeListener('error', fail)
      // Read errors of the UDP socket (ICMP unreachable and the like) are not fatal.
      socket.on('error', () => {})
      const endpoint: UtpEndpoint = {
        port: socket.address().port,
        connect: (p, h) => {
          if (closed) throw new Error('uTP endpoint closed')
          if (!isIPv4(h)) throw new Error(`uTP dials IPv4 addresses only, not ${h}`)
          const conn = socket.connect(p, h)
          track(conn)
          return conn
        },
        close: () => {
          if (closed) return Promise.resolve()
          closed = true
          for (const c of all) c.destroy()
          // libutp closes each connection gracefully (FIN, then its ack, or a timeout of up to a
          // minute when the peer is gone) and the socket only after the last one. The close waits
          // for that at most CLOSE_GRACE; past it the wind-down goes on unreferenced, so it cannot
          // keep the process alive.
          return new Promise<void>((done) => {
            const timer = setTimeout(() => {
              socket.unref()
              done()
            }, CLOSE_GRACE)
            socket.close(() => {
              clearTimeout(timer)
              done()
            })
          })
        }
      }
      resolve(endpoint)
    })
    socket.listen(port, host ?? '0.0.0.0')
  })
}
