/**
 * Where a torrent's peer addresses come from besides PEX: its trackers, the
 * client's DHT and LSD. Every address goes to one callback (the peer book).
 * A hybrid (BEP 52) is announced under both its hashes, as libtorrent does:
 * the v1 hash and its v2 swarm key, each to every tracker, the DHT and LSD.
 * The stats show the v1 hash's tracker notes, counts and scrapes.
 *
 * @internal
 * @module
 */
import type { Metainfo, TrackerSession } from '../contracts.ts'
import type { PeerSource } from '../wire/peer.ts'
import { startTracker } from '../swarm/tracker.ts'
import { startScrapes, type ScrapeSession } from '../swarm/scrape-session.ts'
import { formatAddress } from '../swarm/address.ts'
import type { TorrentStats } from '../../messages.ts'
import type { DhtTorrentSession } from '../swarm/client-dht.ts'
import type { LsdTorrentSession } from '../swarm/client-lsd.ts'
import type { TorrentContext } from './context.ts'
import { v2SwarmKey } from '../wire/v2-upgrade.ts'

/** With no peer and no block for this long, a downloading torrent asks its trackers again (ms). */
export const REANNOUNCE_WHEN_ALONE = 15000

/** What discovery needs from its torrent. */
export interface DiscoveryOptions {
  readonly meta: Pick<Metainfo, 'infoHash' | 'infoHashBytes' | 'announce' | 'private'> & Partial<Pick<Metainfo, 'version' | 'v2'>>
  readonly ctx: Pick<TorrentContext, 'peerId' | 'port' | 'joinDht' | 'joinLsd' | 'scrape' | 'scrapeInterval' | 'startTrackers' | 'externalPort' | 'externalIp'> & Partial<Pick<TorrentContext, 'changed'>>
  /** Transfer totals for announces. */
  stats(): { uploaded: number; downloaded: number; left: number }
  onPeer(addr: string, source: PeerSource): void
  /** A tracker's seed and leecher counts. */
  onCounts(seeds: number, leechers: number): void
  /** Do we want more peers (for DHT lookups)? */
  wanted(): boolean
}

/**
 * A torrent's trackers, DHT and LSD sessions.
 *
 * @example
 * ```ts
 * const d = new Discovery({ meta, ctx, stats, onPeer: (a, s) => book.add(a, s), onCounts, wanted })
 * d.start()
 * await d.stop()
 * ```
 */
export class Discovery {
  private tracker: TrackerSession | null = null
  /** The announces of a hybrid's v2 swarm key (trackers, DHT, LSD): peers only. */
  private second: { tracker: TrackerSession | null; dht: DhtTorrentSession | null; lsd: LsdTorrentSession | null } | null = null
  private dht: DhtTorrentSession | null = null
  private lsd: LsdTorrentSession | null = null
  private scrapes: ScrapeSession | null = null

  constructor(private readonly o: DiscoveryOptions) {}

  start(): void {
    const { meta } = this.o
    this.tracker = this.announceTo(meta.infoHash, true)
    if (this.o.ctx.scrape !== false && meta.announce.length > 0)
      this.scrapes = startScrapes({ infoHash: meta.infoHashBytes, announce: meta.announce, ...(this.o.ctx.scrapeInterval !== undefined ? { intervalMs: this.o.ctx.scrapeInterval } : {}) })
    this.dht = this.joinDht(meta.infoHash)
    this.lsd = this.joinLsd(meta.infoHash)
    const key = v2SwarmKey(meta)
    if (key !== null) this.second = { tracker: this.announceTo(key, false), dht: this.joinDht(key), lsd: this.joinLsd(key) }
  }

  /** The trackers' session for `infoHash` (`main`: its counts and notes are the torrent's). */
  private announceTo(infoHash: string, main: boolean): TrackerSession | null {
    const { ctx } = this.o
    try {
      return (ctx.startTrackers ?? startTracker)({
        infoHash,
        peerId: ctx.peerId,
        announce: this.o.meta.announce,
        port: ctx.port,
        ...(ctx.externalPort && { externalPort: () => ctx.externalPort?.() ?? null }),
        ...(ctx.externalIp && { externalIp: () => ctx.externalIp?.() ?? null }),
        stats: () => this.o.stats(),
        onPeer: (host, port) => this.o.onPeer(formatAddress(host, port), 'tracker'),
        ...(main && { onCounts: (seeds: number, leechers: number) => this.o.onCounts(seeds, leechers) }),
        ...(main && ctx.changed && { onNote: () => ctx.changed?.() })
      })
    } catch {
      // A tracker client that cannot start must not stop the torrent: peers may come from elsewhere.
      return null
    }
  }

  private joinDht(infoHash: string): DhtTorrentSession | null {
    return this.o.ctx.joinDht?.(infoHash, this.o.meta.private, {
      onPeer: (host, port) => this.o.onPeer(formatAddress(host, port), 'dht'),
      wanted: () => this.o.wanted()
    }) ?? null
  }

  private joinLsd(infoHash: string): LsdTorrentSession | null {
    return this.o.ctx.joinLsd?.(infoHash, this.o.meta.private, (addr) => this.o.onPeer(addr, 'lsd')) ?? null
  }

  /** Tell the trackers the download is complete. */
  completed(): void {
    this.tracker?.completed()
    this.second?.tracker?.completed()
  }

  /** Ask the trackers for peers now. */
  update(): void {
    this.tracker?.update()
    this.second?.tracker?.update()
  }

  /** Each tracker's latest announce note, for the stats (undefined when the torrent names no tracker). */
  trackerStats(): TorrentStats['trackers'] {
    const notes = this.tracker?.notes() ?? []
    return notes.length > 0 ? notes : undefined
  }

  /** Each tracker's latest scrape, for the stats (undefined when none is scraped). */
  scrapeStats(): TorrentStats['scrapes'] {
    if (this.scrapes === null) return undefined
    const rows = this.scrapes.results().map((r) => ({
      url: r.url,
      ...(r.counts ?? {}),
      ...(r.at !== undefined ? { at: r.at } : {}),
      ...(r.error !== undefined ? { error: r.error } : {})
    }))
    return rows.length > 0 ? rows : undefined
  }

  /** Leave the DHT and LSD; resolves once the trackers heard we stopped. */
  stop(): Promise<void> | undefined {
    this.scrapes?.stop()
    this.scrapes = null
    const stopped = [this.tracker?.stop(), this.second?.tracker?.stop()].filter((p) => p !== undefined)
    this.tracker = null
    this.dht?.close()
    this.lsd?.close()
    this.second?.dht?.close()
    this.second?.lsd?.close()
    this.second = null
    return stopped.length === 0 ? undefined : Promise.all(stopped).then(() => {})
  }
}
