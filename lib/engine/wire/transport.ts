/**
 * What a peer connection runs over: TCP or uTP, behind one socket type, and
 * the dial that races both: try TCP and uTP to the same address, keep
 * whichever connects first, close the other, so there is never more than one
 * connection to a peer (libtorrent tries both as well).
 *
 * TCP gets a head start ({@link UTP_HEAD_START}, Happy Eyeballs' way): the
 * uTP attempt starts only when TCP has neither connected nor failed by then,
 * or at once when TCP fails. On a link both can use TCP nearly always wins:
 * libutp (through utp-native) keeps at most 1 MiB in flight per connection,
 * so on a long link it is several times slower than TCP (docs/benchmarks.md,
 * WAN: 2.4 MB/s over uTP against 9.0 over TCP at 200 ms RTT). uTP still
 * reaches peers whose TCP port is closed, filtered or not listened on.
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

/** How long (ms) TCP dials alone before uTP joins the race (see the module comment). */
export const UTP_HEAD_START = 500

/** Which transports a dial may use. */
export interface DialTransports {
  /** Dial TCP (default true). */
  readonly tcp: boolean
  /** The uTP endpoint to dial from, or null for none. */
  readonly utp: UtpEndpoint | null
  /** TCP's head start over uTP, ms (default {@link UTP_HEAD_START}; only when both are dialled). */
  readonly utpHeadStart?: number
}

const NO_CALLBACK = (): void => {}

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
  private utpStarted = false
  private headStart: ReturnType<typeof setTimeout> | undefined
  /** A uTP attempt is still to come (TCP's head start has not run out). */
  private utpPending: () => boolean = () => false

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
      let ownError: Error | null = null
      const onError = (e: Error): void => {
        ownError = lastError = e
        fail()
      }
      let failed = false
      const fail = (): void => {
        if (failed) return
        failed = true
        this.tries.delete(s)
        if (this.winner === s) {
          // The connection in use ended: with its own error, if it had one (a loser's earlier
          // error is not why), else plainly, as a socket the peer closed.
          if (!this.destroyed) this.destroy(ownError ?? undefined)
          return
        }
        if (this.winner || this.destroyed) return
        failures++
        if (this.tries.size === 0 && !this.utpPending()) this.destroy(lastError ?? new Error(`${kind} connection failed`))
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
    this.utpPending = () => canUtp && via.tcp && !this.utpStarted
    const dialUtp = (): void => {
      if (this.winner || this.destroyed || this.utpStarted) return
      this.utpStarted = true
      clearTimeout(this.headStart)
      try {
        const conn: UtpConnection = via.utp!.connect(port, host)
        conn.on('data', (d: Uint8Array) => {
          if (this.winner === conn) deliver(d)
        })
        attempt('utp', conn)
      } catch (e) {
        lastError = e as Error
        if (this.tries.size === 0) this.destroy(lastError)
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
      if (canUtp) {
        // TCP failed before its head start ran out: uTP at once.
        socket.once('close', dialUtp)
        this.headStart = setTimeout(dialUtp, via.utpHeadStart ?? UTP_HEAD_START)
        this.headStart.unref?.()
      }
    } else if (canUtp) {
      dialUtp()
    }
    if (this.tries.size === 0) {
      process.nextTick(() => this.destroy(lastError ?? new Error('no transport to dial with')))
    }
    void failures
  }

  private win (kind: Transport, s: Duplex): void {
    this.winner = s
    clearTimeout(this.headStart)
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

  /**
   * A batch (the wrapper was corked, e.g. a turn's upload answers) reaches
   * the winner as one batch too: corked around the writes, so a TCP winner
   * sends it in one writev instead of a write syscall per chunk.
   */
  override _writev (chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (e?: Error | null) => void): void {
    const last = chunks.length - 1
    const w = this.winner
    if (w === null) {
      chunks.forEach(({ chunk }, i) => this.waiting.push({ chunk, cb: i === last ? cb : NO_CALLBACK }))
      return
    }
    w.cork()
    chunks.forEach(({ chunk }, i) => (i === last ? w.write(chunk, cb) : w.write(chunk)))
    w.uncork()
  }

  override _read (): void {
    // Received bytes go to `deliver`, never through this stream's readable side.
  }

  override _final (cb: (e?: Error | null) => void): void {
    this.winner?.end()
    cb()
  }

  override _destroy (err: Error | null, cb: (e?: Error | null) => void): void {
    clearTimeout(this.headStart)
    for (const s of this.tries) s.destroy()
    this.tries.clear()
    this.winner?.destroy()
    for (const w of this.waiting.splice(0)) w.cb(err ?? new Error('socket destroyed'))
    cb(err)
  }
}
