/**
 * The options of {@link torrentClient}, and their resolution: every default
 * and derived setting of one engine run, decided once, here. The client, its
 * torrents and its magnet sessions read the resolved values only.
 *
 * @module
 */
import type { TorrentStreams } from '../stream/torrent-streams.ts'
import path from 'node:path'
import type { TorrentId } from '../../messages.ts'
import type { PeerInfo } from '../torrent/torrent.ts'
import { resolveDhtOption, type DhtOption, type DhtSettings } from '../swarm/client-dht.ts'
import type { LsdSettings } from '../swarm/client-lsd.ts'
import type { EncryptionLevel } from '../wire/mse-policy.ts'
import { admissionLimits, type AdmissionLimits, type AdmissionSettings } from '../policy/admission.ts'
import type { PortMappingSettings } from '../nat/port-mapper.ts'

/**
 * Options of {@link torrentClient}. All optional.
 *
 * @example
 * ```ts
 * const options: ClientOptions = {
 *   port: 6881,
 *   downloadFolder: 'downloads',
 *   uploadRateLimit: 1_000_000, // bytes per second, all torrents together
 *   dht: { bootstrap: ['127.0.0.1:20000'] } // a private DHT; `false` turns it off
 * }
 * const engine = torrentClient(options)
 * ```
 */
export interface ClientOptions {
  /** TCP port for incoming peers; 0 (default) picks a free one. */
  readonly port?: number
  /** Interface to listen on; default all. */
  readonly host?: string
  /** Save folder for commands that name none; default the working directory. */
  readonly downloadFolder?: string
  /** Peers (`host:port`) tried for every torrent, besides trackers. */
  readonly peers?: readonly string[]
  /** Milliseconds between status updates of each torrent; default 1000. */
  readonly statusInterval?: number
  /** Connections per torrent; default 50. */
  readonly maxConnsPerTorrent?: number
  /** Connections for the whole client; default 200. */
  readonly maxConns?: number
  /** Hashing worker threads for checking existing data; default min(2, cpus). 0 hashes on the main thread. */
  readonly hasherWorkers?: number
  /**
   * Verify downloaded pieces on the main thread while they arrive (default
   * true): a running SHA-1 per piece, no copies, ~0.45 CPU s per GiB. False
   * sends whole pieces to the worker pool instead (more RSS at high speed).
   */
  readonly hashInline?: boolean
  /** Regular upload slots per torrent (by rate, re-chosen every 10 s), plus one optimistic unchoke; default 4. */
  readonly uploadSlots?: number
  /** Tuning/tests: period of the full re-choice of upload slots (ms); default 10000. */
  readonly rechokeInterval?: number
  /** Tuning/tests: period of the optimistic unchoke's rotation (ms); default 30000. */
  readonly optimisticInterval?: number
  /** A peer that delivers nothing for this long loses its requests to others (ms); default 10000. */
  readonly requestTimeout?: number
  /**
   * Close a peer when neither side is interested and, since its handshake or the last time
   * either side was, it sent nothing useful (keep-alives do not count) for this long (ms);
   * default 300000 (Mainline's 5 minutes).
   */
  readonly peerIdleTimeout?: number
  /** Bad pieces (a shared piece counts half) before a peer is banned from a torrent; default 2. */
  readonly banStrikes?: number
  /** Upload cap for the whole client (all torrents together), bytes per second; default none. */
  readonly uploadRateLimit?: number
  /** Download cap for the whole client (all torrents together), bytes per second; default none. */
  readonly downloadRateLimit?: number
  /** Upload cap of each torrent, bytes per second; default none. */
  readonly torrentUploadRateLimit?: number
  /** Download cap of each torrent, bytes per second; default none. */
  readonly torrentDownloadRateLimit?: number
  /**
   * BEP 5 DHT, on by default: one node for the client, its routing table saved
   * on dispose to `stateFile` (default `<downloadFolder or cwd>/.torrent-patron/dht.json`)
   * and loaded at start; never used for private torrents. `false` opens no UDP
   * socket. Without this option, the environment variable
   * `TORRENT_PATRON_DHT=off` turns the default off (tests and CI).
   *
   * @example
   * torrentClient({ dht: { bootstrap: ['127.0.0.1:6881'], host: '127.0.0.1' } })
   */
  readonly dht?: DhtOption
  /**
   * BEP 14 local service discovery, off by default: `true` or `{ interface?, groupPort?, intervalMs? }`
   * announces non-private torrents by multicast on the LAN and hears local peers.
   */
  readonly lsd?: boolean | LsdSettings
  /**
   * Answer incoming peers' obfuscated handshakes (message stream encryption,
   * which aria2, libtorrent and Transmission try first); default true. The
   * payload stays plaintext whenever the peer allows it; RC4 only for peers
   * that require it. `false` accepts plaintext handshakes
   * only (see `outgoingEncryption` for the connections we open).
   */
  readonly encryption?: boolean
  /**
   * Outgoing connections' handshake (libtorrent's levels): `'enabled'` (the
   * default) opens with the obfuscated MSE handshake, falls back to plaintext
   * when a peer refuses it and remembers per peer what worked; `'forced'`
   * never falls back; `'disabled'` opens in plaintext only. With MSE the
   * payload is plaintext or RC4 as the answering peer selects (both are offered).
   */
  readonly outgoingEncryption?: EncryptionLevel
  /**
   * Dial and accept uTP (BEP 29) beside TCP, on the same port number; default
   * true. Each dial tries both and keeps the first that connects. Where the
   * optional `utp-native` module cannot load the engine runs on TCP alone and
   * says why in `transport` of the stats.
   */
  readonly utp?: boolean
  /**
   * Dial and accept TCP; default true. `false` (with `utp`) makes a uTP-only
   * engine: the TCP listener only finds the port number (uTP binds the same
   * number on UDP) and then closes.
   */
  readonly tcp?: boolean
  /**
   * Limits on who may hold connection slots: connections in their handshake
   * (overall and per address), peers per address, the handshake and
   * first-message deadlines. See {@link AdmissionSettings} and docs/security.md.
   */
  readonly admission?: AdmissionSettings
  /**
   * Map the listen port (TCP, and UDP for uTP and the DHT) on the home
   * router by PCP, NAT-PMP or UPnP IGD, so peers outside can connect in; renewed
   * before its lease ends and removed when the engine stops. Off by default
   * in the library (a library must not open ports on its user's router behind
   * their back); the CLI turns it on. `true` finds the router by itself (the
   * default route's gateway, an SSDP search); settings name it. The stats'
   * `portMapping` says what was mapped, or why not; tracker announces and the
   * DHT carry the external port.
   *
   * @example
   * torrentClient({ portMapping: true })
   * torrentClient({ portMapping: { gateway: '192.0.2.1', upnp: false } }) // NAT-PMP to that router only
   */
  readonly portMapping?: boolean | PortMappingSettings
  /** BEP 11 peer exchange on every connection of non-private torrents; default true. */
  readonly pex?: boolean
  /** Tuning/tests: milliseconds between PEX messages to each peer; default 60000 (BEP 11's minimum spacing). */
  readonly pexInterval?: number
  /**
   * BEP 19 web seeds (`url-list` of a .torrent, `ws=` of a magnet) as a source
   * of whole pieces beside peers; default true.
   */
  readonly webSeeds?: boolean
  /** PEM certificate(s) trusted for HTTPS web seeds besides the system's (e.g. a self-signed server's). */
  readonly webSeedCa?: string
  /**
   * Scrape every torrent's trackers (HTTP BEP 48, UDP BEP 15) for the
   * `scrapes` of its stats: at start, then every `scrapeInterval`; default true.
   */
  readonly scrape?: boolean
  /** Milliseconds between scrapes of a tracker that answers; default 1 800 000 (30 min). */
  readonly scrapeInterval?: number
  /** Diagnostics: called with each torrent created (tests use it to see peers' contributions). */
  readonly onTorrent?: (id: TorrentId, handle: TorrentHandle) => void
  /**
   * Called once when a run of the engine has let go of everything after it
   * was disposed or failed: torrents closed (stopped announced, last resume
   * records written), files, sockets, workers and timers released. Disposal
   * itself is synchronous (a `Disposable` of `@most/types`); wait for this before deleting
   * a save folder or exiting.
   */
  readonly onStopped?: () => void
}

/**
 * A read-only diagnostic view of a running torrent.
 *
 * @example
 * ```ts
 * const engine = torrentClient({
 *   onTorrent: (id, handle: TorrentHandle) => {
 *     setInterval(() => console.log(id, handle.infoHash, handle.peers().length, handle.banned()), 5000).unref()
 *   }
 * })
 * ```
 */
export interface TorrentHandle {
  /** Hex v1 info hash. */
  readonly infoHash: string
  /** Connected peers, with what each moved. */
  peers(): PeerInfo[]
  /** Accepted block bytes by peer address since the torrent started. */
  contributed(): Record<string, number>
  /** Addresses banned from this torrent for sending bad data. */
  banned(): string[]
  /**
   * How the torrent's start found existing data: `'resume'` (its resume
   * record, plus hashing `checked` pieces of files whose size or mtime
   * changed), `'check'` (no usable record: all pieces hashed) or `'empty'`.
   */
  restoredFrom(): {
    /** Where the verified pieces came from. */
    source: 'empty' | 'resume' | 'check'
    /** Pieces hashed at start. */
    checked: number
  }
  /**
   * The torrent's readers: read streams over its files (by index, pad files
   * not counted, or by name) that wait for verified pieces, and the
   * "range now readable" events. Undefined while a magnet fetches its metadata.
   */
  streams(): TorrentStreams | undefined
}

/** Defaults of the options that have one (see {@link ClientOptions}). */
export const DEFAULTS = {
  port: 0,
  statusInterval: 1000,
  maxConnsPerTorrent: 50,
  maxConns: 200,
  hashInline: true,
  uploadSlots: 4,
  requestTimeout: 10000,
  banStrikes: 2,
  encryption: true,
  outgoingEncryption: 'enabled',
  utp: true,
  tcp: true,
  pex: true
} as const

/** {@link ClientOptions} with every default applied, as one run of the engine uses them. @internal */
export interface ResolvedOptions {
  readonly port: number
  readonly host: string | undefined
  /** Absolute. */
  readonly downloadFolder: string
  readonly peers: readonly string[]
  readonly statusInterval: number
  readonly maxConnsPerTorrent: number
  readonly maxConns: number
  /** Undefined: the hasher's own default. */
  readonly hasherWorkers: number | undefined
  readonly hashInline: boolean
  readonly uploadSlots: number
  readonly rechokeInterval: number | undefined
  readonly optimisticInterval: number | undefined
  readonly requestTimeout: number
  readonly peerIdleTimeout: number | undefined
  readonly banStrikes: number
  /** Client-wide caps, bytes per second; undefined: none. */
  readonly uploadRateLimit: number | undefined
  readonly downloadRateLimit: number | undefined
  /** Per-torrent caps, bytes per second; 0: none. */
  readonly torrentUploadRateLimit: number
  readonly torrentDownloadRateLimit: number
  /** The DHT node's settings (its state kept under `folder`), or null: no DHT. */
  readonly dht: (DhtSettings & { readonly folder: string }) | null
  /** The LSD endpoint's settings, or null: no LSD. */
  readonly lsd: LsdSettings | null
  readonly encryption: boolean
  readonly outgoingEncryption: EncryptionLevel
  readonly utp: boolean
  readonly tcp: boolean
  readonly admission: AdmissionLimits
  /** Port mapping's settings, or null: no mapping. */
  readonly portMapping: PortMappingSettings | null
  readonly pex: boolean
  readonly pexInterval: number | undefined
  readonly webSeeds: boolean
  readonly webSeedCa: string | undefined
  readonly scrape: boolean
  readonly scrapeInterval: number | undefined
  readonly onTorrent: ClientOptions['onTorrent']
  readonly onStopped: ClientOptions['onStopped']
}

/**
 * Resolve `options` for one run of the engine: defaults applied, the save
 * folder made absolute against `cwd`, the DHT decided (the option, else the
 * environment: `TORRENT_PATRON_DHT=off`) and LSD's `true` made settings.
 *
 * @example
 * ```ts
 * const o = resolveOptions({ lsd: true, dht: false }, {}, '/srv')
 * o.downloadFolder // '/srv'
 * o.lsd // {}
 * o.dht // null
 * ```
 *
 * @internal
 */
export const resolveOptions = (options: ClientOptions, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ResolvedOptions => {
  const downloadFolder = path.resolve(cwd, options.downloadFolder ?? '.')
  const dht = resolveDhtOption(options.dht, env)
  return {
    port: options.port ?? DEFAULTS.port,
    host: options.host,
    downloadFolder,
    peers: options.peers ?? [],
    statusInterval: options.statusInterval ?? DEFAULTS.statusInterval,
    maxConnsPerTorrent: options.maxConnsPerTorrent ?? DEFAULTS.maxConnsPerTorrent,
    maxConns: options.maxConns ?? DEFAULTS.maxConns,
    hasherWorkers: options.hasherWorkers,
    hashInline: options.hashInline ?? DEFAULTS.hashInline,
    uploadSlots: options.uploadSlots ?? DEFAULTS.uploadSlots,
    rechokeInterval: options.rechokeInterval,
    optimisticInterval: options.optimisticInterval,
    requestTimeout: options.requestTimeout ?? DEFAULTS.requestTimeout,
    peerIdleTimeout: options.peerIdleTimeout,
    banStrikes: options.banStrikes ?? DEFAULTS.banStrikes,
    uploadRateLimit: options.uploadRateLimit,
    downloadRateLimit: options.downloadRateLimit,
    torrentUploadRateLimit: options.torrentUploadRateLimit ?? 0,
    torrentDownloadRateLimit: options.torrentDownloadRateLimit ?? 0,
    dht: dht === null ? null : { ...dht, host: dht.host ?? options.host, folder: downloadFolder },
    lsd: options.lsd === true ? {} : typeof options.lsd === 'object' && options.lsd !== null ? options.lsd : null,
    encryption: options.encryption ?? DEFAULTS.encryption,
    outgoingEncryption: options.outgoingEncryption ?? DEFAULTS.outgoingEncryption,
    utp: options.utp ?? DEFAULTS.utp,
    tcp: options.tcp ?? DEFAULTS.tcp,
    admission: admissionLimits(options.admission),
    portMapping: options.portMapping === true ? {} : typeof options.portMapping === 'object' && options.portMapping !== null ? options.portMapping : null,
    pex: options.pex ?? DEFAULTS.pex,
    pexInterval: options.pexInterval,
    webSeeds: options.webSeeds ?? true,
    webSeedCa: options.webSeedCa,
    scrape: options.scrape ?? true,
    scrapeInterval: options.scrapeInterval,
    onTorrent: options.onTorrent,
    onStopped: options.onStopped
  }
}
