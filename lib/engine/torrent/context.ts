/**
 * What a torrent needs from its client: identity, shared limits and the
 * client-wide services (hasher, DHT, LSD, rate buckets). The client builds one
 * per torrent; a unit test builds one with fakes.
 *
 * @internal
 * @module
 */
import type { WebSeedSourceOptions } from '../download/web-seed-source.ts'
import type { Hasher, StartTrackers } from '../contracts.ts'
import type { TokenBucket } from '../policy/throttle.ts'
import type { AdmissionLimits } from '../policy/admission.ts'
import type { DhtTorrentHooks, DhtTorrentSession } from '../swarm/client-dht.ts'
import type { LsdTorrentSession } from '../swarm/client-lsd.ts'
import type { Dial } from './connections.ts'

/** What a torrent needs from its client. */
export interface TorrentContext {
  /** Our peer id, hex (20 bytes). */
  readonly peerId: string
  /** Our listening port (for trackers). */
  readonly port: number
  readonly hasher: Hasher
  /** Client-wide connection cap: may this torrent open one more? */
  canConnect(): boolean
  connectionsChanged(delta: number): void
  /** Something worth an immediate status update happened. */
  changed(): void
  readonly maxConnsPerTorrent: number
  /** Regular upload slots (one optimistic unchoke comes on top). */
  readonly uploadSlots: number
  /** Full re-choice of the regular slots (ms); default 10000. */
  readonly rechokeInterval?: number
  /** Rotation of the optimistic unchoke (ms); default 30000. */
  readonly optimisticInterval?: number
  /** A peer that delivers nothing for this long has its requests re-issued elsewhere (ms). */
  readonly requestTimeout: number
  /** Close a peer when neither side is interested and it said nothing useful for this long (ms; idle.ts). */
  readonly peerIdleTimeout?: number
  /** Who may hold the torrent's connection slots (policy/admission.ts); default its defaults. */
  readonly admission?: AdmissionLimits
  /** Strikes (bad pieces) before a peer is banned from this torrent. */
  readonly banStrikes: number
  /**
   * Why the save folder cannot be written (a read-only file system, say), when
   * it cannot: the storage refuses writes, only complete data can run (as a
   * seed) and no resume record is written.
   */
  readonly readOnly?: string
  /**
   * Hash downloaded pieces on the main thread as their bytes arrive (no copy,
   * no waiting at the end) instead of on the worker pool. Worker isolates free
   * moved buffers only on their own GC, which costs ~100 MiB of RSS at speed.
   */
  readonly hashInline?: boolean
  /** Upload cap in bytes per second for this torrent; 0 or undefined = none. */
  readonly uploadRateLimit?: number
  /** Download cap in bytes per second for this torrent; 0 or undefined = none. */
  readonly downloadRateLimit?: number
  /** The client's shared upload bucket (all torrents); unlimited when absent. */
  readonly clientUp?: TokenBucket
  /** The client's shared download bucket (all torrents); unlimited when absent. */
  readonly clientDown?: TokenBucket
  /** Join the client's DHT (null for a private torrent or without a DHT). */
  joinDht?(infoHash: string, isPrivate: boolean, hooks: DhtTorrentHooks): DhtTorrentSession | null
  /** Join the client's LSD (null for a private torrent or without LSD). */
  joinLsd?(infoHash: string, isPrivate: boolean, onPeer: (addr: string) => void): LsdTorrentSession | null
  /** Our DHT's UDP port, when a DHT runs (BEP 5: sent in a PORT message to peers that set the DHT bit). */
  dhtPort?(): number | null
  /** A peer sent its DHT port (BEP 5 PORT message). */
  dhtNode?(host: string, port: number): void
  /** Is `host:port` our own listen address? Such peers are never dialled, whatever their source. */
  isSelf?(host: string, port: number): boolean
  /** PEX (BEP 11) for non-private torrents; default true. */
  readonly pex?: boolean
  /** Milliseconds between PEX messages to each peer; default 60000. */
  readonly pexInterval?: number
  /** Opens an outgoing connection; default TCP ({@link connectPeer}). A second transport or a test plugs in here. */
  readonly dial?: Dial
  /** How the client reaches peers ("tcp+utp", "tcp only (uTP unavailable: ...)"), for the stats. */
  transportNote?(): string
  /** Where the port mapping stands ("upnp: tcp 198.51.100.65:6881, ...", "not mapped (...)", "off"), for the stats. */
  portMappingNote?(): string
  /** The clock (ms since the epoch); default Date.now. */
  readonly now?: () => number
  /** Starts the torrent's tracker session; default the engine's own HTTP/UDP client (swarm/tracker.ts). */
  readonly startTrackers?: StartTrackers
  /** The port trackers should give out: the router's external port mapped to `port` (UPnP / NAT-PMP), once mapped (null or absent: `port`). */
  externalPort?(): number | null
  /** Our external address for trackers' `ip` field, when known (the router's, once a port mapping is in place). */
  externalIp?(): string | null
  /** Scrape the trackers (BEP 48 / BEP 15) for the stats; default true. */
  readonly scrape?: boolean
  /** Milliseconds between scrapes of a tracker that answers; default 30 min. */
  readonly scrapeInterval?: number
  /** BEP 19 web seeds of the metainfo's `url-list` as a block source; default true. */
  readonly webSeeds?: boolean
  /** Limits and TLS trust of the web seeds. */
  readonly webSeedOptions?: WebSeedSourceOptions
}
