/**
 * One BEP 15 exchange with a UDP tracker: connect (get a connection id), then
 * one request built on that id, with retransmission on a doubling timer until
 * a deadline. The socket's family follows the tracker's address, so IPv6
 * trackers work. Every malformed or unexpected datagram is a clear error,
 * never a throw out of a socket callback.
 *
 * @internal
 * @module
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { bareHost } from './address.ts'

/** BEP 15 actions. */
export const UDP_ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const

const PROTOCOL_ID = 0x41727101980n

/** Options of {@link udpTrackerRequest}. */
export interface UdpRequestOptions {
  /** Give up after this long (ms); default 15 s. */
  readonly timeoutMs?: number
  /** First retransmission delay (ms), doubling after each; default 1 s. */
  readonly retryMs?: number
  /** Aborts the exchange (rejects with the signal's reason). */
  readonly signal?: AbortSignal
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
 * Connect to the tracker at `url` and send one request. `build` gets the
 * connection id (8 bytes) and the transaction id (4 bytes) and returns the
 * whole datagram; the answer must carry `action` and the same transaction id.
 * Resolves with the answer's bytes after its 8-byte header.
 *
 * @example
 * ```ts
 * const body = await udpTrackerRequest('udp://127.0.0.1:6969', UDP_ACTION.scrape, (conn, tx) =>
 *   Buffer.concat([conn, u32(UDP_ACTION.scrape), tx, infoHash]))
 * ```
 */
export const udpTrackerRequest = async (
  url: string,
  action: number,
  build: (connectionId: Buffer, transactionId: Buffer) => Buffer,
  opts: UdpRequestOptions = {}
): Promise<Buffer> => {
  const end = udpEndpoint(url)
  if (typeof end === 'string') throw new UdpTrackerError(end)
  const address = isIP(end.host) !== 0 ? end.host : (await lookup(end.host)).address
  const family = isIP(address) === 6 ? 'udp6' : 'udp4'
  const socket = createSocket(family)
  const deadline = Date.now() + (opts.timeoutMs ?? 15000)
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(0, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    const connect = (tx: Buffer): Buffer => {
      const b = Buffer.alloc(16)
      b.writeBigUInt64BE(PROTOCOL_ID, 0)
      b.writeUInt32BE(UDP_ACTION.connect, 8)
      tx.copy(b, 12)
      return b
    }
    const connected = await exchange(socket, address, end.port, UDP_ACTION.connect, connect, deadline, opts)
    if (connected.length < 8) throw new UdpTrackerError(`${url}: connect answer too short (${connected.length + 8} bytes)`)
    const connectionId = Buffer.from(connected.subarray(0, 8))
    return await exchange(socket, address, end.port, action, (tx) => build(connectionId, tx), deadline, opts)
  } catch (err) {
    if (err instanceof UdpTrackerError || opts.signal?.aborted) throw err
    throw new UdpTrackerError(`${url}: ${(err as Error)?.message ?? String(err)}`)
  } finally {
    socket.close()
  }
}

const exchange = (
  socket: Socket,
  host: string,
  port: number,
  action: number,
  build: (tx: Buffer) => Buffer,
  deadline: number,
  opts: UdpRequestOptions
): Promise<Buffer> =>
  new Promise<Buffer>((resolve, reject) => {
    const tx = randomBytes(4)
    const datagram = build(tx)
    let wait = opts.retryMs ?? 1000
    let timer: NodeJS.Timeout | null = null
    const finish = (err: Error | null, body?: Buffer): void => {
      if (timer) clearTimeout(timer)
      socket.off('message', onMessage)
      socket.off('error', onError)
      opts.signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve(body as Buffer)
    }
    const onMessage = (msg: Buffer, from: RemoteInfo): void => {
      if (from.port !== port || bareHost(from.address) !== bareHost(host)) return // not the tracker
      if (msg.length < 8) return finish(new UdpTrackerError(`tracker sent a ${msg.length}-byte datagram`))
      if (!msg.subarray(4, 8).equals(tx)) return // a late answer to an earlier retransmission, or noise
      const got = msg.readUInt32BE(0)
      if (got === UDP_ACTION.error) return finish(new UdpTrackerError(`tracker error: ${msg.subarray(8, 8 + 512).toString('utf8')}`))
      if (got !== action) return finish(new UdpTrackerError(`tracker answered action ${got}, expected ${action}`))
      finish(null, msg.subarray(8))
    }
    const onError = (err: Error): void => finish(new UdpTrackerError(err.message))
    const onAbort = (): void => finish(opts.signal?.reason instanceof Error ? opts.signal.reason : new UdpTrackerError('aborted'))
    const send = (): void => {
      const left = deadline - Date.now()
      if (left <= 0) return finish(new UdpTrackerError(`no answer from the tracker at ${host}:${port}`))
      socket.send(datagram, port, host)
      timer = setTimeout(send, Math.min(wait, left))
      wait *= 2
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
