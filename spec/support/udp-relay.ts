/**
 * A user-space lossy link for UDP (this kernel has no netem): a relay that
 * forwards datagrams between its clients and one target, delaying each by a
 * fixed time (plus optional jitter), dropping a fraction of them with a seeded
 * random generator, and optionally pacing them to a bandwidth with a bounded
 * queue (tail drop), in each direction independently.
 *
 * A client sends to the relay's port; the relay forwards from a socket of its
 * own per client (so the target's replies find their way back) and returns the
 * replies to the client. The target therefore sees every client as the
 * relay's address: enough for uTP, the DHT or a tracker over UDP.
 *
 * Usable in-process ({@link udpRelay}) or as a program, for example inside a
 * network namespace:
 *
 *   node --import tsx spec/support/udp-relay.ts --listen 198.51.100.1:7000 \
 *     --target 198.51.100.2:6881 --delay 50 --loss 0.01 --seed 7
 *
 * It prints `listening <port>` once bound and its counters on SIGTERM.
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram'
import { isIPv6 } from 'node:net'
import { fileURLToPath } from 'node:url'

/** How one direction of the link treats datagrams. */
export interface LinkShape {
  /** Fixed one-way delay, ms (default 0). */
  readonly delayMs?: number
  /** Extra delay drawn uniformly from [0, jitterMs) for each datagram, ms (default 0). Reorders. */
  readonly jitterMs?: number
  /** Fraction of datagrams dropped, 0..1 (default 0). */
  readonly loss?: number
  /** Bandwidth, bytes per second (default unlimited). */
  readonly rate?: number
  /** Most bytes queued for the bandwidth before datagrams are tail-dropped (default 64 KiB). */
  readonly queueBytes?: number
}

export interface RelayOptions {
  /** Address the relay listens on (default 127.0.0.1). */
  readonly host?: string
  /** Port the relay listens on (default 0: any). */
  readonly port?: number
  readonly target: { readonly host: string; readonly port: number }
  /** Client -> target. */
  readonly up?: LinkShape
  /** Target -> client (default: the same as `up`). */
  readonly down?: LinkShape
  /** Seed of the drop and jitter generator (default 1): the same seed drops the same datagrams. */
  readonly seed?: number
}

/** Counters of one direction. */
export interface DirectionStats {
  received: number
  forwarded: number
  dropped: number
  /** Dropped because the bandwidth queue was full (counted in `dropped` too). */
  overflowed: number
}

export interface Relay {
  readonly port: number
  readonly stats: { readonly up: DirectionStats; readonly down: DirectionStats }
  close(): Promise<void>
}

/** Mulberry32: a small seeded generator of floats in [0, 1). */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Socket buffers asked for (capped by net.core.rmem_max / wmem_max): libuv reads
 * at most 32 datagrams per loop turn, so a burst must wait in the kernel, and
 * the default 208 KiB holds only a few hundred small datagrams. A drop there
 * would be loss the test did not ask for.
 */
export const RECV_BUFFER = 4 << 20

const newStats = (): DirectionStats => ({ received: 0, forwarded: 0, dropped: 0, overflowed: 0 })

/**
 * One direction: drop, pace, delay, then send. Datagrams leave in arrival
 * order unless jitter reorders them.
 */
class Direction {
  private readonly delay: number
  private readonly jitter: number
  private readonly loss: number
  private readonly rate: number
  private readonly queueBytes: number
  /** When the bandwidth is next free (ms, performance clock). */
  private busyUntil = 0
  private queued = 0
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor (shape: LinkShape, private readonly random: () => number, readonly stats: DirectionStats) {
    this.delay = shape.delayMs ?? 0
    this.jitter = shape.jitterMs ?? 0
    this.loss = shape.loss ?? 0
    this.rate = shape.rate ?? 0
    this.queueBytes = shape.queueBytes ?? 64 * 1024
  }

  push (msg: Buffer, send: (m: Buffer) => void): void {
    this.stats.received++
    if (this.loss > 0 && this.random() < this.loss) {
      this.stats.dropped++
      return
    }
    const now = performance.now()
    let leave = now
    if (this.rate > 0) {
      if (this.queued + msg.length > this.queueBytes) {
        this.stats.dropped++
        this.stats.overflowed++
        return
      }
      const start = Math.max(now, this.busyUntil)
      this.busyUntil = start + (msg.length * 1000) / this.rate
      leave = this.busyUntil
      this.queued += msg.length
    }
    const extra = this.jitter > 0 ? this.random() * this.jitter : 0
    const wait = leave - now + this.delay + extra
    const out = (): void => {
      if (this.rate > 0) this.queued -= msg.length
      this.stats.forwarded++
      send(msg)
    }
    if (wait <= 0) return out()
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      out()
    }, wait)
    this.timers.add(timer)
  }

  stop (): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }
}

/**
 * Start a relay to `target`. Each client (address:port) gets its own upstream
 * socket, so several clients can share one relay.
 *
 * @example
 * ```ts
 * const relay = await udpRelay({ target: { host: '127.0.0.1', port: 6881 }, up: { delayMs: 50, loss: 0.01 } })
 * // dial 127.0.0.1:relay.port instead of 127.0.0.1:6881
 * await relay.close()
 * ```
 */
export const udpRelay = async (opts: RelayOptions): Promise<Relay> => {
  const host = opts.host ?? '127.0.0.1'
  const family = isIPv6(host) ? 'udp6' : 'udp4'
  const seed = opts.seed ?? 1
  const stats = { up: newStats(), down: newStats() }
  // A generator per direction: what one direction drops does not depend on the other's traffic.
  const up = new Direction(opts.up ?? {}, seededRandom(seed), stats.up)
  const down = new Direction(opts.down ?? opts.up ?? {}, seededRandom(seed ^ 0x5bd1e995), stats.down)
  const front = createSocket({ type: family, recvBufferSize: RECV_BUFFER, sendBufferSize: RECV_BUFFER })
  const upstream = new Map<string, Socket>()
  let closed = false

  const upstreamFor = (client: RemoteInfo): Socket => {
    const key = `${client.address}:${client.port}`
    let s = upstream.get(key)
    if (s) return s
    s = createSocket({ type: isIPv6(opts.target.host) ? 'udp6' : 'udp4', recvBufferSize: RECV_BUFFER, sendBufferSize: RECV_BUFFER })
    s.on('error', () => {})
    s.on('message', (msg) => {
      if (closed) return
      down.push(msg, (m) => front.send(m, client.port, client.address))
    })
    s.bind(0, host === '0.0.0.0' || host === '::' ? undefined : host)
    upstream.set(key, s)
    return s
  }

  front.on('error', () => {})
  front.on('message', (msg, client) => {
    if (closed) return
    const s = upstreamFor(client)
    up.push(msg, (m) => {
      if (!closed) s.send(m, opts.target.port, opts.target.host)
    })
  })
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject)
    front.bind(opts.port ?? 0, host, () => {
      front.removeListener('error', reject)
      resolve()
    })
  })
  return {
    port: front.address().port,
    stats,
    close: async () => {
      if (closed) return
      closed = true
      up.stop()
      down.stop()
      const all = [front, ...upstream.values()]
      await Promise.all(all.map((s) => new Promise<void>((r) => {
        try {
          s.close(() => r())
        } catch {
          r()
        }
      })))
    }
  }
}

const addr = (s: string): { host: string; port: number } => {
  const i = s.lastIndexOf(':')
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) }
}

// As a program: flags --listen HOST:PORT --target HOST:PORT [--delay MS] [--jitter MS]
// [--loss P] [--rate BYTES_PER_S] [--seed N].
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = new Map<string, string>()
  for (let i = 2; i + 1 < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!)
  const listenAt = addr(args.get('listen') ?? '127.0.0.1:0')
  const shape: LinkShape = {
    delayMs: Number(args.get('delay') ?? 0),
    jitterMs: Number(args.get('jitter') ?? 0),
    loss: Number(args.get('loss') ?? 0),
    rate: Number(args.get('rate') ?? 0)
  }
  const relay = await udpRelay({
    host: listenAt.host,
    port: listenAt.port,
    target: addr(args.get('target') ?? ''),
    up: shape,
    seed: Number(args.get('seed') ?? 1)
  })
  console.log(`listening ${relay.port}`)
  process.on('SIGTERM', () => {
    console.log(JSON.stringify(relay.stats))
    void relay.close().then(() => process.exit(0))
  })
}
