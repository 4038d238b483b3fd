/**
 * NAT-PMP (RFC 6886) client: the gateway's external address, and mappings of
 * a TCP or UDP port. Each request goes out on its own UDP socket connected to
 * the gateway's port 5351, so the kernel drops datagrams from anyone else and
 * an ICMP "port unreachable" (a gateway without NAT-PMP) fails the request at
 * once. Requests are sent again after 250 ms, doubling, `tries` times in all
 * (RFC 6886 allows nine; a home gateway that speaks NAT-PMP answers the first).
 *
 * A reply is read only when it has the length, version and opcode the request
 * expects; anything else is counted and ignored, so a garbage datagram never
 * throws, and a gateway that only sends garbage fails the request with a
 * reason that says so.
 *
 * @internal
 * @module
 */
import dgram from 'node:dgram'

/** The gateway's NAT-PMP port. */
export const NAT_PMP_PORT = 5351

/** RFC 6886 result codes. */
const RESULTS: Record<number, string> = {
  1: 'unsupported version',
  2: 'not authorized (NAT-PMP turned off on the gateway?)',
  3: 'network failure (the gateway has no external address)',
  4: 'out of resources',
  5: 'unsupported opcode'
}

/** Where the gateway is, and how patient to be. */
export interface NatPmpTarget {
  readonly gateway: string
  /** Default {@link NAT_PMP_PORT}; tests use a fake gateway's port. */
  readonly port?: number
  /** Sends in all (250 ms, then doubling); default 4 (3.75 s in all). */
  readonly tries?: number
}

/** A granted mapping. */
export interface NatPmpGrant {
  readonly externalPort: number
  /** Seconds. */
  readonly lifetime: number
}

/**
 * What a reply is to the request: the reply itself (done), an Error (the
 * gateway refused: done), or null (not a reply to it: counted as garbage).
 */
export type Judge = (msg: Buffer) => Buffer | Error | null

/**
 * Send the request (made from our local address on the connected socket) to
 * the gateway, resend it on the schedule of the module comment, and settle
 * with the first datagram `judge` accepts or refuses; rejects with a reason
 * (no answer, garbage only, port unreachable). Shared by NAT-PMP and PCP.
 */
export const gatewayExchange = (t: NatPmpTarget, request: (localAddress: string) => Buffer, judge: Judge): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4')
    const tries = t.tries ?? 4
    let sent = 0
    let garbage = 0
    let timer: NodeJS.Timeout | null = null
    let done = false
    let bytes: Buffer | null = null
    const finish = (err: Error | null, reply?: Buffer): void => {
      if (done) return
      done = true
      if (timer !== null) clearTimeout(timer)
      try {
        socket.close()
      } catch {
        // already closed
      }
      if (err !== null) reject(err)
      else resolve(reply!)
    }
    const send = (): void => {
      if (done) return
      if (sent === tries) {
        return finish(new Error(garbage > 0 ? `malformed replies only (${garbage}) from ${t.gateway}` : `no answer from ${t.gateway}`))
      }
      socket.send(bytes!, (err) => {
        if (err) finish(new Error(`cannot send to ${t.gateway}: ${err.message}`))
      })
      timer = setTimeout(send, 250 * 2 ** sent)
      timer.unref()
      sent++
    }
    socket.on('error', (err: NodeJS.ErrnoException) => {
      finish(new Error(err.code === 'ECONNREFUSED' ? `${t.gateway} does not listen on its NAT-PMP / PCP port (port unreachable)` : `socket error: ${err.message}`))
    })
    socket.on('message', (msg) => {
      const verdict = judge(msg)
      if (verdict === null) garbage++
      else if (verdict instanceof Error) finish(verdict)
      else finish(null, verdict)
    })
    socket.connect(t.port ?? NAT_PMP_PORT, t.gateway, () => {
      bytes = request(socket.address().address)
      send()
    })
  })

/** A NAT-PMP reply to `request` of at least `length` bytes: version 0, opcode 128 + ours, result 0. */
const natPmpJudge =
  (request: Buffer, length: number): Judge =>
  (msg) => {
    if (msg.length < 4 || msg[0] !== 0 || msg[1] !== (request[1]! | 0x80)) return null
    const result = msg.readUInt16BE(2)
    if (result !== 0) return new Error(`gateway refused: ${RESULTS[result] ?? `result code ${result}`}`)
    return msg.length < length ? null : msg
  }

const exchange = (t: NatPmpTarget, request: Buffer, length: number): Promise<Buffer> => gatewayExchange(t, () => request, natPmpJudge(request, length))

/**
 * The gateway's external IPv4 address.
 *
 * @example
 * ```ts
 * const ip = await natPmpExternalAddress({ gateway: '192.0.2.1' }) // '198.51.100.65'
 * ```
 */
export const natPmpExternalAddress = async (t: NatPmpTarget): Promise<string> => {
  const reply = await exchange(t, Buffer.from([0, 0]), 12)
  return `${reply[8]}.${reply[9]}.${reply[10]}.${reply[11]}`
}

/**
 * Map `internalPort` (asking for the same external port) for `lifetime`
 * seconds; lifetime 0 removes the mapping.
 *
 * @example
 * ```ts
 * const g = await natPmpMap({ gateway: '192.0.2.1' }, 'tcp', 6881, 3600) // { externalPort: 6881, lifetime: 3600 }
 * await natPmpMap({ gateway: '192.0.2.1' }, 'tcp', 6881, 0) // removed
 * ```
 */
export const natPmpMap = async (t: NatPmpTarget, protocol: 'tcp' | 'udp', internalPort: number, lifetime: number): Promise<NatPmpGrant> => {
  const req = Buffer.alloc(12)
  req[1] = protocol === 'udp' ? 1 : 2
  req.writeUInt16BE(internalPort, 4)
  req.writeUInt16BE(lifetime === 0 ? 0 : internalPort, 6)
  req.writeUInt32BE(lifetime, 8)
  const reply = await exchange(t, req, 16)
  if (reply.readUInt16BE(8) !== internalPort) throw new Error(`the reply names internal port ${reply.readUInt16BE(8)}, not ${internalPort}`)
  return { externalPort: reply.readUInt16BE(10), lifetime: reply.readUInt32BE(12) }
}
