/**
 * PCP (RFC 6887), NAT-PMP's successor on the same gateway port: one MAP
 * request per port, which also gives the external address. A gateway that
 * speaks only NAT-PMP answers a PCP request with a version-0 "unsupported
 * version" reply (RFC 6887, appendix A), which fails the request at once so
 * that NAT-PMP is asked next. The exchange (connected socket, resends,
 * garbage counted and ignored) is NAT-PMP's (nat-pmp.ts).
 *
 * @internal
 * @module
 */
import { randomBytes } from 'node:crypto'
import { gatewayExchange, type Judge, type NatPmpTarget } from './nat-pmp.ts'

const VERSION = 2
const OP_MAP = 1
/** Request header (24) + MAP opcode data (36). */
const MAP_SIZE = 60

/** RFC 6887 result codes. */
const RESULTS: Record<number, string> = {
  1: 'unsupported version',
  2: 'not authorized',
  3: 'malformed request',
  4: 'unsupported opcode',
  5: 'unsupported option',
  6: 'malformed option',
  7: 'network failure',
  8: 'no resources',
  9: 'unsupported protocol',
  10: 'user exceeded quota',
  11: 'cannot provide the external port',
  12: 'address mismatch',
  13: 'excessive remote peers'
}

/** A granted PCP mapping. */
export interface PcpGrant {
  readonly externalPort: number
  /** The gateway's external IPv4 address for the mapping. */
  readonly externalAddress: string
  /** Seconds. */
  readonly lifetime: number
  /** The mapping's nonce: renewals and the deletion must send it again. */
  readonly nonce: Buffer
}

/** `a.b.c.d` as an IPv4-mapped IPv6 address (16 bytes). */
const mapped = (ipv4: string): Buffer => {
  const b = Buffer.alloc(16)
  b[10] = 0xff
  b[11] = 0xff
  ipv4.split('.').forEach((o, i) => (b[12 + i] = Number(o) & 0xff))
  return b
}

/**
 * Map `internalPort` of `protocol` (asking for the same external port) for
 * `lifetime` seconds; 0 deletes the mapping. A renewal or deletion passes
 * the `nonce` of the grant.
 *
 * @example
 * ```ts
 * const g = await pcpMap({ gateway: '192.0.2.1' }, 'tcp', 6881, 3600) // { externalPort: 6881, externalAddress: '198.51.100.65', lifetime: 3600 }
 * await pcpMap({ gateway: '192.0.2.1' }, 'tcp', 6881, 0, g.nonce)
 * ```
 */
export const pcpMap = async (t: NatPmpTarget, protocol: 'tcp' | 'udp', internalPort: number, lifetime: number, nonce: Buffer = randomBytes(12)): Promise<PcpGrant> => {
  const proto = protocol === 'tcp' ? 6 : 17
  const request = (local: string): Buffer => {
    const b = Buffer.alloc(MAP_SIZE)
    b[0] = VERSION
    b[1] = OP_MAP
    b.writeUInt32BE(lifetime, 4)
    mapped(local).copy(b, 8)
    nonce.copy(b, 24)
    b[36] = proto
    b.writeUInt16BE(internalPort, 40)
    b.writeUInt16BE(lifetime === 0 ? 0 : internalPort, 42)
    // suggested external address: none (all zeros)
    return b
  }
  const judge: Judge = (msg) => {
    // a NAT-PMP-only gateway: version 0, result 1 (unsupported version)
    if (msg.length >= 4 && msg[0] === 0 && msg.readUInt16BE(2) === 1) return new Error('the gateway speaks NAT-PMP only')
    if (msg.length < 24 || msg[0] !== VERSION || msg[1] !== (0x80 | OP_MAP)) return null
    if (msg[3] !== 0) return new Error(`gateway refused: ${RESULTS[msg[3]!] ?? `result code ${msg[3]}`}`)
    if (msg.length < MAP_SIZE || !msg.subarray(24, 36).equals(nonce) || msg[36] !== proto || msg.readUInt16BE(40) !== internalPort) return null
    return msg
  }
  const reply = await gatewayExchange(t, request, judge)
  const ip = reply.subarray(44, 60)
  return { externalPort: reply.readUInt16BE(42), externalAddress: `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`, lifetime: reply.readUInt32BE(4), nonce }
}
