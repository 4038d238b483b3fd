/**
 * What a peer connection runs over: TCP or uTP, behind one socket type, and
 * the dial that races both (libtorrent's policy: try uTP and TCP to the same
 * address, keep whichever connects first, close the other, so there is never
 * more than one connection to a peer).
 *
 * {@link RaceSocket} is the Peer's socket for a raced dial: writes wait until
 * a transport wins and then go straight to it; reads never pass through it
 * (each transport hands its bytes to `deliver`, the TCP side from Node's
 * shared read buffer without a copy).
 *
 * @internal
 * @module
 */
import net from 'node:net'
import { Duplex } from 'node:stream'
import type { UtpEndpoint, UtpConnection } from './utp.ts'
import { sharedRead } from './parser.ts'

/**
 * The transport of a peer connection.
 *
 * @example
 * ```ts
 * const overUtp = (peers: { transport: Transport }[]) => peers.filter((p) => p.transport === 'utp').length
 * ```
 */
export type Transport = 'tcp' | 'utp'

/** A peer connection's byte stream: a net.Socket, a uTP connection or a {@link RaceSocket}. */
export interface PeerSocket extends Duplex {
  readonly remoteAddress?: string
  readonly remotePort?: number
  setNoDelay?(noDelay?: boolean): unknown
}

/** Which transports a dial may use. */
export interface DialTransports {
  /** Dial TCP (default true). */
  readonly tcp: boolean
  /** The uTP endpoint to dial from, or null for none. */
  readonly utp: UtpEndpoint | null
}

/**
 * A socket for a dial raced over TCP and uTP. Emits 'connect' once one
 * transport connects (its name in {@link RaceSocket.transport}); emits
 * 'error' and closes when every transport tried failed.
 */
export class RaceSocket extends Duplex implements PeerSocket {
  /** The winning transport, once connected. */
  transport: Transport | null = null
  remoteAddress?: string
  remotePort?: number
  private winner: Duplex | null = null
  private readonly waiting: Array<{ chunk: Buffer; cb: (e?: Error | null) => void }> = []
  private readonly tries = new Set<Duplex>()
  private noDelay = false
  private tcp: net.Socket | null = null

  /**
   * Dial `host:port` over `via`; each transport's received bytes go to
   * `deliver` (a view valid only during the call).
   */
  constructor (host: string, port: number, via: DialTransports, deliver: (view: Uint8Array) => void) {
    super({ allowHalfOpen: false })
    let failures = 0
    let lastError: Error | null = null
    const attempt = (kind: Transport, s: Duplex): void => {
      this.tries.add(s)
      const onError = (e: Error): void => {
        lastError = e
        fail()
      }
      let failed = false
      const fail = (): void => {
        if (failed) return
        failed = true
        this.tries.delete(s)
        if (this.winner === s) {
          this.destroy(lastError ?? new Error(`${kind} connection closed`))
          return
        }
        if (this.winner || this.destroyed) return
        failures++
        if (this.tries.size === 0) this.destroy(lastError ?? new Error(`${kind} connection failed`))
      }
      s.on('error', onError)
      s.once('close', fail)
      s.once('connect', () => {
        if (this.winner || this.destroyed) {
          s.destroy()
          return
        }
        this.win(kind, s)
      })
    }
    const canUtp = via.utp !== null && net.isIPv4(host)
    if (canUtp) {
      try {
        const conn: UtpConnection = via.utp!.connect(port, host)
        conn.on('data', (d: Uint8Array) => {
          if (this.winner === conn) deliver(d)
        })
        attempt('utp', conn)
      } catch (e) {
        lastError = e as Error
      }
    }
    if (via.tcp) {
      const socket = net.connect({
        host,
        port,
        onread: sharedRead((view) => {
          if (this.winner === socket) deliver(view)
        })
      })
      this.tcp = socket
      attempt('tcp', socket)
    }
    if (this.tries.size === 0) {
      process.nextTick(() => this.destroy(lastError ?? new Error('no transport to dial with')))
    }
    void failures
  }

  private win (kind: Transport, s: Duplex): void {
    this.winner = s
    this.transport = kind
    const info = s as unknown as { remoteAddress?: string; remotePort?: number }
    this.remoteAddress = info.remoteAddress
    this.remotePort = info.remotePort
    for (const other of this.tries) if (other !== s) other.destroy()
    if (kind === 'tcp' && this.noDelay) this.tcp?.setNoDelay(true)
    s.on('drain', () => this.emit('drain'))
    for (const w of this.waiting.splice(0)) s.write(w.chunk, w.cb)
    this.emit('connect')
  }

  setNoDelay (noDelay = true): this {
    this.noDelay = noDelay
    if (this.transport === 'tcp') this.tcp?.setNoDelay(noDelay)
    return this
  }

  override _write (chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.winner) this.winner.write(chunk, cb)
    else this.waiting.push({ chunk, cb })
  }

  override _read (): void {
    // Received bytes go to `deliver`, never through this stream's readable side.
  }

  override _final (cb: (e?: Error | null) => void): void {
    this.winner?.end()
    cb()
  }

  override _destroy (err: Error | null, cb: (e?: Error | null) => void): void {
    for (const s of this.tries) s.destroy()
    this.tries.clear()
    this.winner?.destroy()
    for (const w of this.waiting.splice(0)) w.cb(err ?? new Error('socket destroyed'))
    cb(err)
  }
}
