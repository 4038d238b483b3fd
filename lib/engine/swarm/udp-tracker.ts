/**
 * BEP 15 exchanges with a UDP tracker: connect (get a connection id, kept for
 * its minute of validity and reused), then one request built on that id,
 * retransmitted on BEP 15's timer (15 * 2^n s) until an answer or a deadline.
 * The socket's family follows the tracker's address, so trackers on IPv6 work
 * and their announce answers carry 18-byte IPv6 peers. Every malformed,
 * oversized or unexpected datagram is a clear error, never a throw out of a
 * socket callback.
 *
 * @internal
 * @module
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { bareHost } from './address.ts'
import { connectionIdValid, udpRetransmitDelay, UDP_RETRANSMIT_BASE_MS } from './announce-policy.ts'
import { realTimers, type TimerHandle, type Timers } from './timers.ts'
import { udpReply, type AnnounceParams, type AnnounceReply } from './tracker-reply.ts'

/** BEP 15 actions. */
export const UDP_ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const

/** BEP 15 announce events. */
export const UDP_EVENT = { none: 0, completed: 1, started: 2, stopped: 3 } as const

const PROTOCOL_ID = 0x41727101980n

/** Largest datagram accepted from a tracker: the fixed part and 2000 IPv6 peers. */
export const MAX_UDP_ANSWER = 20 + 2000 * 18

/**
 * Connection ids by tracker address, each with the time it arrived. One is
 * shared by every torrent of the process unless a caller brings its own.
 */
export class ConnectionIds {
  private readonly ids = new Map<string, { id: Buffer; at: number }>()

  /** A usable id for `key` at `now`, or null. */
  get(key: string, now: number): Buffer | null {
    const e = this.ids.get(key)
    if (e === undefined) return null
    if (connectionIdValid(e.at, now)) return e.id
    this.ids.delete(key)
    return null
  }

  put(key: string, id: Buffer, now: number): void {
    if (this.ids.size >= 1000) this.ids.clear()
    this.ids.set(key, { id, at: now })
  }

  forget(key: string): void {
    this.ids.delete(key)
  }
}

const sharedIds = new ConnectionIds()

/** Options of {@link udpTrackerRequest}. */
export interface UdpRequestOptions {
  /** Give up after this long (ms); default 15 s. */
  readonly timeoutMs?: number
  /** First retransmission delay (ms), doubling after each (BEP 15); default 15 s. */
  readonly retryMs?: number
  /** Aborts the exchange (rejects with the signal's reason). */
  readonly signal?: AbortSignal
  /** The clock and timers; default the real ones. */
  readonly timers?: Timers
  /** Where connection ids are kept; default one cache for the process. */
  readonly connectionIds?: ConnectionIds
}

/** A UDP tracker answered with an error, junk, or not at all. */
export class UdpTrackerError extends Error {
  override readonly name = 'UdpTrackerError'
}

/**
 * Host and port of a `udp://host:port[/path]` URL, or a reason.
 *
 * @example
 * ```ts
 * udpEndpoint('udp://[::1]:6969/announce') // { host: '::1', port: 6969 }
 * ```
 */
export const udpEndpoint = (url: string): { host: string; port: number } | string => {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return `not a URL: ${url}`
  }
  if (u.protocol !== 'udp:') return `not a udp:// URL: ${url}`
  const port = Number(u.port)
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `no port in ${url}`
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname
  if (host.length === 0) return `no host in ${url}`
  return { host, port }
}

/**
 * Connect to the tracker at `url` (or reuse a connection id younger than a
 * minute) and send one request. `build` gets the connection id (8 bytes) and
 * the transaction id (4 bytes) and returns the whole datagram; the answer
 * must carry `action` and the same transaction id. Resolves with the
 * answer's bytes after its 8-byte header and the tracker's address family.
 *
 * @example
 * ```ts
 * const { body } = await udpTrackerRequest('udp://127.0.0.1:6969', UDP_ACTION.scrape, (conn, tx) =>
 *   Buffer.concat([conn, u32(UDP_ACTION.scrape), tx, infoHash]))
 * ```
 */
export const udpTrackerRequest = async (
  url: string,
  action: number,
  build: (connectionId: Buffer, transactionId: Buffer) => Buffer,
  opts: UdpRequestOptions = {}
): Promise<{ body: Buffer; family: 4 | 6 }> => {
  const end = udpEndpoint(url)
  if (typeof end === 'string') throw new UdpTrackerError(end)
  const timers = opts.timers ?? realTimers
  const ids = opts.connectionIds ?? sharedIds
  let socket: Socket | null = null
  try {
    const address = isIP(end.host) !== 0 ? end.host : (await lookup(end.host)).address
    const family = isIP(address) === 6 ? 6 : 4
    const key = `${family === 6 ? `[${address}]` : address}:${end.port}`
    const s = createSocket(family === 6 ? 'udp6' : 'udp4')
    socket = s
    const deadline = timers.now() + (opts.timeoutMs ?? 15000)
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.bind(0, () => {
        s.off('error', reject)
        resolve()
      })
    })
    const target: Target = { socket: s, host: address, port: end.port, deadline, timers, opts }
    let connectionId = ids.get(key, timers.now())
    if (connectionId === null) {
      const connected = await exchange(target, UDP_ACTION.connect, connectRequest)
      if (connected.length < 8) throw new UdpTrackerError(`${url}: connect answer too short (${connected.length + 8} bytes)`)
      connectionId = Buffer.from(connected.subarray(0, 8))
      ids.put(key, connectionId, timers.now())
    }
    const id = connectionId
    try {
      return { body: await exchange(target, action, (tx) => build(id, tx)), family }
    } catch (err) {
      // The id may be what the tracker refused or ignored: the next request connects afresh.
      ids.forget(key)
      throw err
    }
  } catch (err) {
    if (err instanceof UdpTrackerError || opts.signal?.aborted) throw err
    throw new UdpTrackerError(`${url}: ${(err as Error)?.message ?? String(err)}`)
  } finally {
    socket?.close()
  }
}

const connectRequest = (tx: Buffer): Buffer => {
  const b = Buffer.alloc(16)
  b.writeBigUInt64BE(PROTOCOL_ID, 0)
  b.writeUInt32BE(UDP_ACTION.connect, 8)
  tx.copy(b, 12)
  return b
}

interface Target {
  readonly socket: Socket
  readonly host: string
  readonly port: number
  readonly deadline: number
  readonly timers: Timers
  readonly opts: UdpRequestOptions
}

const exchange = ({ socket, host, port, deadline, timers, opts }: Target, action: number, build: (tx: Buffer) => Buffer): Promise<Buffer> =>
  new Promise<Buffer>((resolve, reject) => {
    const tx = randomBytes(4)
    const datagram = build(tx)
    let n = 0
    let timer: TimerHandle | null = null
    let done = false
    const finish = (err: Error | null, body?: Buffer): void => {
      if (done) return
      done = true
      if (timer !== null) timers.clearTimeout(timer)
      socket.off('message', onMessage)
      socket.off('error', onError)
      opts.signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve(body as Buffer)
    }
    const onMessage = (msg: Buffer, from: RemoteInfo): void => {
      if (from.port !== port || bareHost(from.address) !== bareHost(host)) return // not the tracker
      if (msg.length < 8) return finish(new UdpTrackerError(`tracker sent a ${msg.length}-byte datagram`))
      if (!msg.subarray(4, 8).equals(tx)) return // a late answer to an earlier request, or noise
      if (msg.length > MAX_UDP_ANSWER) return finish(new UdpTrackerError(`tracker sent a ${msg.length}-byte answer, more than ${MAX_UDP_ANSWER}`))
      const got = msg.readUInt32BE(0)
      if (got === UDP_ACTION.error) return finish(new UdpTrackerError(`tracker error: ${msg.subarray(8, 8 + 512).toString('utf8')}`))
      if (got !== action) return finish(new UdpTrackerError(`tracker answered action ${got}, expected ${action}`))
      finish(null, msg.subarray(8))
    }
    const onError = (err: Error): void => finish(new UdpTrackerError(err.message))
    const onAbort = (): void => finish(opts.signal?.reason instanceof Error ? opts.signal.reason : new UdpTrackerError('aborted'))
    const send = (): void => {
      timer = null
      if (done) return
      const left = deadline - timers.now()
      if (left <= 0) return finish(new UdpTrackerError(`no answer from the tracker at ${host.includes(':') ? `[${host}]` : host}:${port}`))
      socket.send(datagram, port, host, (err) => {
        if (err) finish(new UdpTrackerError(`cannot send to the tracker: ${err.message}`))
      })
      timer = timers.setTimeout(send, Math.min(udpRetransmitDelay(n++, opts.retryMs ?? UDP_RETRANSMIT_BASE_MS), left))
    }
    if (opts.signal?.aborted) return onAbort()
    opts.signal?.addEventListener('abort', onAbort)
    socket.on('message', onMessage)
    socket.on('error', onError)
    send()
  })

/**
 * A 4-byte big-endian unsigned integer.
 *
 * @example
 * ```ts
 * u32(2) // <Buffer 00 00 00 02>
 * ```
 */
export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0)
  return b
}

const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(n)))))
  return b
}

/**
 * One BEP 15 announce.
 *
 * @example
 * ```ts
 * const reply = await announceUdp('udp://[::1]:6969', { infoHash, peerId, port: 6881, uploaded: 0, downloaded: 0, left, event: 'started', numwant: 50, key })
 * reply.peers // IPv6 peers from an IPv6 tracker
 * ```
 */
export const announceUdp = async (url: string, p: AnnounceParams, opts: UdpRequestOptions = {}): Promise<AnnounceReply> => {
  // BEP 15's IP field holds an IPv4 address; zero lets the tracker use the datagram's source.
  const ip = p.ip !== undefined && isIP(p.ip) === 4 ? Buffer.from(p.ip.split('.').map(Number)) : Buffer.alloc(4)
  const port = Buffer.alloc(2)
  port.writeUInt16BE(p.port & 0xffff)
  const { body, family } = await udpTrackerRequest(url, UDP_ACTION.announce, (connectionId, tx) => Buffer.concat([
    connectionId, u32(UDP_ACTION.announce), tx, p.infoHash, p.peerId,
    u64(p.downloaded), u64(p.left), u64(p.uploaded),
    u32(p.event === undefined ? UDP_EVENT.none : UDP_EVENT[p.event]),
    ip, u32(p.key), u32(p.numwant), port
  ]), opts)
  return udpReply(body, family)
}
