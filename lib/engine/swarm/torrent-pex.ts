/**
 * A torrent's PEX (BEP 11) glue: registers `ut_pex` on each wire before the
 * handshake, keeps the torrent's PEX view in step with its connections (by
 * each peer's listen address), and hands peers learnt from others to the
 * torrent. Private torrents get none (see {@link createPex}).
 *
 * @module
 */
import { createPex, type PexSwarm } from './pex.ts'
import { familyOf, listenAddressOf } from './address.ts'
import type { ExtensionWire } from '../wire/extension-wire.ts'

/** The slice of a wire this module uses (a bittorrent-protocol 5 Wire fits). */
export interface PexWire extends ExtensionWire {
  use(ext: unknown): void
  on(event: 'extended', fn: (name: string, body: unknown) => void): unknown
}

/** Options of {@link createTorrentPex}. */
export interface TorrentPexOptions {
  /** BEP 27 flag: true gives no PEX at all. */
  readonly private: boolean
  /** Milliseconds between deltas to each peer (default 60000, BEP 11's minimum spacing). */
  readonly intervalMs?: number
  /** A peer told us about `addr` ("ip:port"). */
  onPeer(addr: string): void
}

/** One torrent's PEX. */
export interface TorrentPex {
  /**
   * Call for every wire before our handshake goes out. `dialled` is the
   * address we connected to (outgoing), null for an incoming connection whose
   * listen address is learnt from the peer's extended handshake (`p`).
   */
  attach(wire: PexWire, remoteHost: string | undefined, dialled: string | null): void
  /** The peer's BitTorrent handshake completed. */
  ready(wire: object): void
  /** The connection closed. */
  closed(wire: object): void
  destroy(): void
}

interface WireState { listenAddr: string | null; ready: boolean; listed: boolean }

/**
 * Start a torrent's PEX, or null for a private torrent.
 *
 * @example
 * const pex = createTorrentPex({ private: meta.private, onPeer: a => torrent.addPeerAddress(a, 'pex') })
 * pex?.attach(wire, socket.remoteAddress, '10.0.0.5:6881') // before wire.handshake()
 * pex?.ready(wire); pex?.closed(wire)
 */
export function createTorrentPex (opts: TorrentPexOptions): TorrentPex | null {
  const intervalMs = opts.intervalMs !== undefined && opts.intervalMs > 0 ? opts.intervalMs : 60_000
  // Incoming messages closer than half our own interval are floods (BEP 11: at most one a minute).
  const swarm: PexSwarm | null = createPex({ private: opts.private, intervalMs, minIncomingIntervalMs: Math.min(30_000, intervalMs / 2) })
  if (swarm === null) return null
  swarm.on('peer', (addr) => opts.onPeer(addr))
  swarm.on('violation', () => {})
  const wires = new WeakMap<object, WireState>()
  /** Listen address -> the wire it is listed for (a duplicate connection must not unlist the live one). */
  const holder = new Map<string, object>()

  const list = (wire: object, s: WireState): void => {
    if (!s.ready || s.listed || s.listenAddr === null || holder.has(s.listenAddr)) return
    s.listed = true
    holder.set(s.listenAddr, wire)
    swarm.connected(s.listenAddr, wire)
  }
  return {
    attach (wire, remoteHost, dialled) {
      wire.use(swarm.extension)
      const s: WireState = { listenAddr: dialled, ready: false, listed: false }
      wires.set(wire, s)
      if (dialled !== null || remoteHost === undefined || familyOf(remoteHost) === 0) return
      wire.on('extended', (name, body) => {
        if (name !== 'handshake' || s.listenAddr !== null) return
        s.listenAddr = listenAddressOf(remoteHost, body)
        list(wire, s)
      })
    },
    ready (wire) {
      const s = wires.get(wire)
      if (s === undefined) return
      s.ready = true
      list(wire, s)
    },
    closed (wire) {
      const s = wires.get(wire)
      if (s?.listed === true && s.listenAddr !== null && holder.get(s.listenAddr) === wire) {
        holder.delete(s.listenAddr)
        swarm.disconnected(s.listenAddr)
      }
      wires.delete(wire)
    },
    destroy () {
      holder.clear()
      swarm.destroy()
    }
  }
}
