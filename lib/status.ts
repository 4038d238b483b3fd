/**
 * The status dictionary of one torrent ({@link TorrentStats}), which the engine
 * sends in every `TorrentStatusUpdate`. It is its own module because it is the
 * largest type the messages carry; `messages.ts` re-exports it.
 *
 * Like the messages, this module depends on nothing: it is plain data.
 *
 * @module
 */

/**
 * Statistics of one torrent, a superset of Mainline's status dictionary.
 * Rates are bytes per second, totals are bytes, times are seconds.
 *
 * @example
 * ```ts
 * const stats: TorrentStats = {
 *   ...emptyStats,
 *   activity: 'downloading',
 *   fractionDone: 0.25,
 *   timeEst: 12,
 *   downRate: 2_500_000,
 *   downTotal: 10_485_760,
 *   numPeers: 3,
 *   piecesDone: 40,
 *   piecesTotal: 160
 * }
 * ```
 */
export interface TorrentStats {
  /**
   * What the torrent is doing: `"fetching metadata"`, `"fetching piece layers (...)"`
   * (a v2-only magnet, with what it waits for), `"checking"`, `"downloading"`,
   * `"seeding"`, `"stalled"`, `"shut down"` or `"error: ..."`.
   */
  readonly activity: string
  /** Verified fraction of the torrent, 0..1. */
  readonly fractionDone: number
  /** Seconds left at the current rate; null when unknown or finished. */
  readonly timeEst: number | null
  /** Download rate in bytes per second, smoothed over a few seconds. */
  readonly downRate: number
  /** Upload rate in bytes per second, smoothed over a few seconds. */
  readonly upRate: number
  /** Bytes downloaded since the torrent started (payload only). */
  readonly downTotal: number
  /** Bytes uploaded since the torrent started (payload only). */
  readonly upTotal: number
  /** Connected peers. */
  readonly numPeers: number
  /** Connected peers that have every piece. */
  readonly numSeeds: number
  /** Peers the trackers reported last (incomplete). */
  readonly trackerPeers: number
  /** Seeds the trackers reported last (complete). */
  readonly trackerSeeds: number
  /** Distributed copies seen among connected peers (and us). */
  readonly numCopies: number
  /** Bytes thrown away after failed hash checks. */
  readonly discarded: number
  /** Verified pieces. */
  readonly piecesDone: number
  /** Pieces in the torrent (0 while fetching metadata). */
  readonly piecesTotal: number
  /** The torrent's name from its metainfo; absent while a magnet fetches its metadata. */
  readonly name?: string
  /** Bytes of the torrent's files (pad files not counted); absent while a magnet fetches its metadata. */
  readonly size?: number
  /**
   * Bytes of the wanted files (those not skipped), which `fractionDone` and
   * `timeEst` count; present only when some file is skipped.
   */
  readonly wanted?: number
  /**
   * The wanted files verified in full, by file index (the torrent's files in
   * metainfo order, BEP 47 pad files not counted), ascending; absent while a
   * magnet fetches its metadata. A status update goes out as soon as a
   * wanted file completes (operators/completedFiles.ts, orderedFiles.ts).
   */
  readonly filesComplete?: readonly number[]
  /** The skipped files, by file index, ascending; present only when some file is skipped. */
  readonly filesSkipped?: readonly number[]
  /** BitTorrent version(s) of the torrent (BEP 52); absent while a magnet fetches its metadata. */
  readonly version?: 'v1' | 'v2' | 'hybrid'
  /** Hex v1 info hash; absent for a v2-only torrent and while a magnet fetches its metadata. */
  readonly infoHashV1?: string
  /** Hex v2 info hash (64 chars) of a v2 or hybrid torrent. */
  readonly infoHashV2?: string
  /** Connected peers by where we learnt of them. */
  readonly peerSources?: Readonly<Record<'tracker' | 'dht' | 'pex' | 'manual' | 'incoming' | 'lsd', number>>
  /** Connected peers by transport (TCP or uTP). */
  readonly peerTransports?: Readonly<Record<'tcp' | 'utp', number>>
  /**
   * Connected peers by how their payload travels: RC4 (MSE), plaintext after
   * an MSE handshake (`obfuscated`), or no MSE (`none`).
   */
  readonly peerEncryption?: Readonly<Record<'rc4' | 'obfuscated' | 'none', number>>
  /**
   * Connected peers by the protocol their connection speaks (BEP 52): every
   * peer of a v2-only torrent is `v2`; a hybrid's peers are `v2` when their
   * connection was upgraded, `v1` when they talk v1 only.
   */
  readonly peerVersions?: Readonly<Record<'v1' | 'v2', number>>
  /** How the engine reaches peers: `"tcp+utp"`, `"utp only"`, or `"tcp only (...)"` saying why uTP is not used. */
  readonly transport?: string
  /**
   * The engine's port mapping on the home router: `"upnp: tcp 198.51.100.65:6881, udp 198.51.100.65:6881"`
   * (or `pcp: ...`, `natpmp: ...`) when mapped, `"not mapped (...)"` with each method's reason,
   * `"mapping"` while the first attempt runs, `"off"` when not asked for.
   */
  readonly portMapping?: string
  /**
   * BEP 19 web seeds: bytes of good pieces each delivered, bytes it sent that
   * failed the hash check, and whether it is in use, resting after a failure
   * (with the reason) or dropped for bad data. Absent when the torrent has none.
   */
  readonly webSeeds?: ReadonlyArray<{
    /** The web seed's URL. */
    readonly url: string
    /** Bytes of pieces it delivered that passed the hash check. */
    readonly downloaded: number
    /** Bytes it delivered that failed the hash check. */
    readonly discarded: number
    /** In use, resting after a failure, or dropped for bad data. */
    readonly state: 'active' | 'resting' | 'dropped'
    /** Why it rests or was dropped. */
    readonly reason?: string
  }>
  /**
   * Announces: each tracker's latest answer (peers, seeds, leechers), its
   * warning, or why its latest announce failed, and when the next is due.
   * Absent when the torrent names no tracker.
   */
  readonly trackers?: ReadonlyArray<{
    /** The tracker's announce URL. */
    readonly url: string
    /** Not answered yet, answering, or failing (see `error`). */
    readonly state: 'pending' | 'working' | 'failing'
    /** Peers in its latest good answer. */
    readonly peers?: number
    /** Seeders it reported. */
    readonly seeds?: number
    /** Leechers it reported. */
    readonly leechers?: number
    /** When its latest good answer came (ms since the epoch). */
    readonly at?: number
    /** When the next announce is due (ms since the epoch). */
    readonly next?: number
    /** Why the latest announce failed. */
    readonly error?: string
    /** The tracker's warning, or what was malformed in an answer that was used anyway. */
    readonly warning?: string
  }>
  /**
   * Tracker scrapes (BEP 48 over HTTP, BEP 15 over UDP): each tracker's
   * latest seeders, leechers and completed downloads, or why its last
   * scrape failed. Absent when no tracker has a scrape convention.
   */
  readonly scrapes?: ReadonlyArray<{
    /** The tracker's announce URL. */
    readonly url: string
    /** Seeders. */
    readonly complete?: number
    /** Leechers. */
    readonly incomplete?: number
    /** Completed downloads the tracker counted. */
    readonly downloaded?: number
    /** When the counts were taken (ms since the epoch). */
    readonly at?: number
    /** Why the latest scrape failed (the counts, if any, are older). */
    readonly error?: string
  }>
}

/**
 * Statistics of a torrent that has done nothing yet.
 * @example
 * ```ts
 * const s: TorrentStats = { ...emptyStats, activity: 'checking' }
 * ```
 */
export const emptyStats: TorrentStats = Object.freeze({
  activity: 'starting',
  fractionDone: 0,
  timeEst: null,
  downRate: 0,
  upRate: 0,
  downTotal: 0,
  upTotal: 0,
  numPeers: 0,
  numSeeds: 0,
  trackerPeers: 0,
  trackerSeeds: 0,
  numCopies: 0,
  discarded: 0,
  piecesDone: 0,
  piecesTotal: 0
})
