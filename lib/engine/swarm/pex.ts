/**
 * BEP 11 Peer Exchange (`ut_pex`): tell connected peers which peers we are
 * connected to, and learn theirs. Written here rather than using npm `ut_pex`
 * 5 because that one sends on a fixed 65 s timer (untestable in a few seconds),
 * accepts any number of peers per message, and is per wire with no shared
 * view of the swarm; this one keeps one swarm view per torrent and a per-wire
 * record of what that peer was already told, so each message is a true delta.
 *
 * Private torrents (BEP 27) must not use PEX: {@link createPex} returns null.
 *
 * @module
 */
import { EventEmitter } from 'node:events'
import { readDictHead } from '../wire/bencode-head.ts'
import type { ExtensionConstructor, ExtensionWire, WireExtension } from '../wire/extension-wire.ts'
import { familyOf, parseAddress } from './address.ts'

/** The extension's name in the BEP 10 handshake. */
export const UT_PEX = 'ut_pex'

/** BEP 11 flag bits of `added.f`. */
export const PexFlag = { prefersEncryption: 0x01, seed: 0x02, utp: 0x04, holepunch: 0x08, reachable: 0x10 } as const

/** Options of {@link createPex}. */
export interface PexOptions {
  /** The torrent's BEP 27 private flag: true means no PEX at all. */
  readonly private: boolean
  /** How often each peer gets a delta (default 60 s: BEP 11 asks for no more than one a minute). */
  readonly intervalMs?: number
  /** Messages from one peer closer together than this are ignored (default 30 s; tests use 0). */
  readonly minIncomingIntervalMs?: number
  /** Cap on added (and on dropped) entries per message, both ways (default 50, as BEP 11 says). */
  readonly maxPeersPerMessage?: number
  /** Cap on distinct peers learnt from one connection (default 500): a peer cannot flood us. */
  readonly maxLearntPerPeer?: number
}

/** Flags of a peer, as sent and received. */
export interface PexPeerFlags { readonly seed?: boolean; readonly reachable?: boolean }

/** Events of a {@link PexSwarm}. */
export interface PexEvents {
  /** A connected peer told us about `addr` ("ip:port", IPv6 as "[ip]:port"). */
  peer: [addr: string, flags: PexPeerFlags, from: object]
  /** A connected peer says it dropped `addr`. */
  dropped: [addr: string, from: object]
  /** A malformed or too-frequent message (ignored). */
  violation: [reason: string, from: object]
}

/** One torrent's PEX state; see {@link createPex}. */
export interface PexSwarm extends EventEmitter<PexEvents> {
  /** Pass to `wire.use()` for every connection of this torrent, before the handshake. */
  readonly extension: ExtensionConstructor<UtPex>
  /**
   * A connection is up. `addr` is where others can reach that peer ("ip:port",
   * its listen port); `wire` is its Wire, so the peer is never told about itself.
   */
  connected(addr: string, wire?: object, flags?: PexPeerFlags): void
  /** That peer's connection is gone: the next deltas list it as dropped. */
  disconnected(addr: string): void
  /** Send due deltas now (also runs every `intervalMs`). */
  flush(): void
  destroy(): void
}

/** Per-wire ut_pex state, created by `wire.use(swarm.extension)`. */
export class UtPex implements WireExtension {
  readonly wire: ExtensionWire
  /** What this peer has been told we are connected to. */
  readonly advertised = new Set<string>()
  /** Distinct peers learnt from this wire. */
  readonly learnt = new Set<string>()
  lastSent = -Infinity
  lastReceived = -Infinity
  constructor (wire: ExtensionWire, private readonly swarm: SwarmInternals) {
    this.wire = wire
    swarm.attach(this)
  }

  get peerSupports (): boolean {
    return (this.wire.peerExtendedMapping[UT_PEX] ?? 0) > 0
  }

  onMessage (payload: Uint8Array): void {
    this.swarm.receive(this, payload)
  }
}

interface SwarmInternals {
  attach(ext: UtPex): void
  receive(ext: UtPex, payload: Uint8Array): void
}

/**
 * Create the PEX state of one torrent, or null for a private torrent.
 *
 * @example
 * const pex = createPex({ private: metainfo.private })
 * pex?.on('peer', (addr) => torrent.addPeer(addr, 'pex'))
 * // for each connection, before handshake:
 * if (pex) wire.use(pex.extension)
 * // once its listen address is known / when it closes:
 * pex?.connected('203.0.113.5:6881', wire); pex?.disconnected('203.0.113.5:6881')
 */
export function createPex (opts: PexOptions): PexSwarm | null {
  if (opts.private) return null
  const intervalMs = opts.intervalMs ?? 60_000
  const minIncoming = opts.minIncomingIntervalMs ?? 30_000
  const maxPerMsg = opts.maxPeersPerMessage ?? 50
  const maxLearnt = opts.maxLearntPerPeer ?? 500

  const swarm = new EventEmitter<PexEvents>() as PexSwarm
  const peers = new Map<string, { wire?: object; flags: number }>()
  const exts = new Set<UtPex>()
  let destroyed = false

  const internals: SwarmInternals = {
    attach (ext) { if (!destroyed) exts.add(ext) },
    receive (ext, payload) {
      if (destroyed) return
      const now = Date.now()
      if (now - ext.lastReceived < minIncoming) { swarm.emit('violation', 'PEX messages too frequent', ext.wire); return }
      ext.lastReceived = now
      const head = readDictHead(payload)
      if (head === null) { swarm.emit('violation', 'undecodable ut_pex message', ext.wire); return }
      const bytes = (k: string): Uint8Array => { const v = head.fields.get(k); return v instanceof Uint8Array ? v : new Uint8Array(0) }
      const added = [...decodeCompact(bytes('added'), 4, maxPerMsg), ...decodeCompact(bytes('added6'), 6, maxPerMsg)]
      const addedFlags = [...padFlags(bytes('added.f'), bytes('added').length / 6, maxPerMsg), ...padFlags(bytes('added6.f'), bytes('added6').length / 18, maxPerMsg)]
      added.forEach((addr, i) => {
        if (ext.learnt.has(addr) || ext.learnt.size >= maxLearnt) return
        ext.learnt.add(addr)
        const f = addedFlags[i] ?? 0
        swarm.emit('peer', addr, { seed: (f & PexFlag.seed) !== 0, reachable: (f & PexFlag.reachable) !== 0 }, ext.wire)
      })
      for (const addr of [...decodeCompact(bytes('dropped'), 4, maxPerMsg), ...decodeCompact(bytes('dropped6'), 6, maxPerMsg)]) {
        if (ext.learnt.delete(addr)) swarm.emit('dropped', addr, ext.wire)
      }
    }
  }

  class BoundUtPex extends UtPex {
    constructor (wire: ExtensionWire) { super(wire, internals) }
  }
  Object.defineProperty(BoundUtPex.prototype, 'name', { value: UT_PEX })

  function flush (): void {
    const now = Date.now()
    for (const ext of exts) {
      if (ext.wire.destroyed === true) { exts.delete(ext); continue }
      if (!ext.peerSupports || now - ext.lastSent < intervalMs) continue
      const own = [...peers].find(([, p]) => p.wire === ext.wire)?.[0]
      const added: string[] = []
      for (const addr of peers.keys()) {
        if (added.length >= maxPerMsg) break
        if (addr !== own && !ext.advertised.has(addr)) added.push(addr)
      }
      const dropped: string[] = []
      for (const addr of ext.advertised) {
        if (dropped.length >= maxPerMsg) break
        if (!peers.has(addr)) dropped.push(addr)
      }
      if (added.length === 0 && dropped.length === 0) continue
      for (const a of added) ext.advertised.add(a)
      for (const d of dropped) ext.advertised.delete(d)
      ext.lastSent = now
      try {
        ext.wire.extended(UT_PEX, encodeMessage(added, dropped, a => peers.get(a)?.flags ?? 0))
      } catch {
        // The wire lost its mapping (closing): nothing to tell.
      }
    }
  }

  const timer = setInterval(flush, intervalMs)
  timer.unref()

  return Object.assign(swarm, {
    extension: BoundUtPex as unknown as ExtensionConstructor<UtPex>,
    connected (addr: string, wire?: object, flags: PexPeerFlags = {}) {
      if (destroyed || parseAddr(addr) === null) return
      peers.set(addr, { ...(wire !== undefined ? { wire } : {}), flags: (flags.seed === true ? PexFlag.seed : 0) | (flags.reachable === false ? 0 : PexFlag.reachable) })
    },
    disconnected (addr: string) {
      const p = peers.get(addr)
      peers.delete(addr)
      if (p?.wire !== undefined) for (const ext of exts) if (ext.wire === p.wire) exts.delete(ext)
    },
    flush,
    destroy () {
      destroyed = true
      clearInterval(timer)
      exts.clear()
      peers.clear()
    }
  })
}

function padFlags (flags: Uint8Array, count: number, max: number): number[] {
  const n = Math.min(Math.floor(count), max)
  return Array.from({ length: n }, (_, i) => flags[i] ?? 0)
}

/** "ip:port" -> family and parts, or null. */
function parseAddr (addr: string): { v: 4 | 6; host: string; port: number } | null {
  const a = parseAddress(addr)
  if (a === null) return null
  const v = familyOf(a.host)
  return v === 0 ? null : { v, host: a.host, port: a.port }
}

function decodeCompact (b: Uint8Array, v: 4 | 6, max: number): string[] {
  const size = v === 4 ? 6 : 18
  const out: string[] = []
  for (let i = 0; i + size <= b.length && out.length < max; i += size) {
    const port = (b[i + size - 2]! << 8) | b[i + size - 1]!
    if (port === 0) continue
    if (v === 4) out.push(`${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}:${port}`)
    else {
      const groups: string[] = []
      for (let g = 0; g < 8; g++) groups.push(((b[i + 2 * g]! << 8) | b[i + 2 * g + 1]!).toString(16))
      // The URL parser writes IPv6 in its canonical compressed form, the
      // spelling sockets and trackers use: one peer, one key.
      out.push(`${new URL(`http://[${groups.join(':')}]/`).hostname}:${port}`)
    }
  }
  return out
}

function ipv6Bytes (host: string): number[] {
  const [head, tail] = host.includes('::') ? host.split('::') as [string, string] : [host, undefined]
  const parse = (s: string | undefined): number[] => s === undefined || s === '' ? [] : s.split(':').flatMap(part => {
    if (part.includes('.')) return part.split('.').map(Number) // embedded IPv4
    const n = parseInt(part, 16)
    return [n >> 8, n & 0xff]
  })
  const h = parse(head)
  const t = parse(tail)
  return [...h, ...new Array<number>(16 - h.length - t.length).fill(0), ...t]
}

function compact (addrs: readonly string[], v: 4 | 6): Buffer {
  const out: number[] = []
  for (const a of addrs) {
    const p = parseAddr(a)
    if (p === null || p.v !== v) continue
    out.push(...(v === 4 ? p.host.split('.').map(Number) : ipv6Bytes(p.host)), p.port >> 8, p.port & 0xff)
  }
  return Buffer.from(out)
}

function encodeMessage (added: readonly string[], dropped: readonly string[], flagsOf: (a: string) => number): Buffer {
  const fam = (v: 4 | 6) => (a: string): boolean => parseAddr(a)?.v === v
  const added4 = added.filter(fam(4)); const added6 = added.filter(fam(6))
  // Keys in sorted order, as bencode requires.
  const entries: Array<[string, Buffer]> = [
    ['added', compact(added4, 4)],
    ['added.f', Buffer.from(added4.map(flagsOf))],
    ['added6', compact(added6, 6)],
    ['added6.f', Buffer.from(added6.map(flagsOf))],
    ['dropped', compact(dropped.filter(fam(4)), 4)],
    ['dropped6', compact(dropped.filter(fam(6)), 6)]
  ]
  const parts: Buffer[] = [Buffer.from('d')]
  for (const [k, v] of entries) parts.push(Buffer.from(`${k.length}:${k}${v.length}:`, 'latin1'), v)
  parts.push(Buffer.from('e'))
  return Buffer.concat(parts)
}
