/**
 * Counts a torrent's connected peers by where we learnt of them, for
 * `TorrentStats.peerSources`. A peer address is usually heard of from several
 * sources; the first one recorded for an address is the one it counts under,
 * and it is counted only while connected.
 *
 * @module
 */
import type { TorrentStats } from '../../messages.ts'

/** Where a peer came from: the keys of `TorrentStats.peerSources`. */
export type PeerSource = keyof NonNullable<TorrentStats['peerSources']>

/** Every source, in the order stats list them. */
export const PEER_SOURCES: readonly PeerSource[] = Object.freeze(['tracker', 'dht', 'pex', 'manual', 'incoming', 'lsd'])

/**
 * A fresh count of zero peers for every source, to count into.
 *
 * @example
 * const counts = noPeerSources()
 * for (const p of connected) counts[p.source]++
 */
export const noPeerSources = (): Record<PeerSource, number> => ({ tracker: 0, dht: 0, pex: 0, manual: 0, incoming: 0, lsd: 0 })

/**
 * Learnt and connected peers by source.
 *
 * @example
 * const sources = new PeerSources()
 * sources.learnt('10.0.0.2:6881', 'dht')     // when a discovery mechanism hands us an address
 * sources.connected('10.0.0.2:6881')         // counted under 'dht'
 * sources.connected('10.0.0.3:51000', 'incoming')
 * sources.snapshot()                          // { tracker: 0, dht: 1, pex: 0, manual: 0, incoming: 1, lsd: 0 }
 * sources.disconnected('10.0.0.2:6881')
 */
export class PeerSources {
  private readonly origin = new Map<string, PeerSource>()
  private readonly live = new Map<string, PeerSource>()
  /** Bound on remembered origins, so a flood of learnt addresses cannot grow memory without end. */
  constructor (private readonly maxRemembered = 10_000) {}

  /** Remember the first source an address was learnt from (later sources do not override it). */
  learnt (addr: string, source: PeerSource): void {
    if (this.origin.has(addr)) return
    if (this.origin.size >= this.maxRemembered) {
      const oldest = this.origin.keys().next().value
      if (oldest !== undefined) this.origin.delete(oldest)
    }
    this.origin.set(addr, source)
  }

  /**
   * A connection to `addr` is up. Counted under `source` if given (e.g. 'incoming'),
   * else under the source it was learnt from, else 'manual'. Idempotent.
   */
  connected (addr: string, source?: PeerSource): void {
    if (this.live.has(addr)) return
    this.live.set(addr, source ?? this.origin.get(addr) ?? 'manual')
  }

  /** The connection is gone. Idempotent. */
  disconnected (addr: string): void {
    this.live.delete(addr)
  }

  /** Source a connected peer is counted under, if connected. */
  sourceOf (addr: string): PeerSource | undefined {
    return this.live.get(addr)
  }

  /** Connected peers. */
  get size (): number { return this.live.size }

  /** Counts per source, every key present (the shape of `TorrentStats.peerSources`). */
  snapshot (): Record<PeerSource, number> {
    const out = noPeerSources()
    for (const s of this.live.values()) out[s]++
    return out
  }
}
