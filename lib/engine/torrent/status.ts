/**
 * A torrent's counters and its status dictionary (TorrentStats): rates,
 * totals, wasted bytes, peers by source, distributed copies, activity.
 *
 * @internal
 * @module
 */
import type { TorrentStats } from '../../messages.ts'
import type { Metainfo } from '../contracts.ts'
import { RateMeter } from '../policy/rate-meter.ts'
import { noPeerSources } from '../swarm/peer-sources.ts'
import type { PeerSource } from '../wire/peer.ts'
import type { Transport } from '../wire/transport.ts'
import type { PeerEncryption } from '../wire/mse-policy.ts'

/** Without a block for this long (and no download rate), a downloading torrent is "stalled" (ms). */
export const STALL_AFTER = 15000

/**
 * Diagnostic view of one connected peer.
 *
 * @example
 * ```ts
 * const slowest = (peers: PeerInfo[]) => [...peers].sort((a, b) => a.downloaded - b.downloaded)[0]?.address
 * ```
 */
export interface PeerInfo {
  /** `host:port`. */
  readonly address: string
  /** Where we learnt of it. */
  readonly source: PeerSource
  /** Its peer id (hex), once handshaken. */
  readonly remoteId: string | null
  /** Payload bytes it sent us. */
  readonly downloaded: number
  /** Payload bytes we sent it. */
  readonly uploaded: number
  /** We are choking it (it may not download from us now). */
  readonly amChoking: boolean
  /** What the connection runs over. */
  readonly transport: Transport
  /** How the payload travels: RC4, plaintext after an MSE handshake ('obfuscated'), or no MSE ('none'). */
  readonly encryption: PeerEncryption
  /** Both ends use the BEP 6 fast extension. */
  readonly fast: boolean
  /** Requests of ours it rejected (BEP 6). */
  readonly rejects: number
  /** The protocol the connection speaks (BEP 52): `v2` on a v2-only torrent and on a hybrid's upgraded connections, else `v1`. */
  readonly version: 'v1' | 'v2'
}

/** What the status needs of a peer. */
export interface StatusPeer extends Omit<PeerInfo, 'amChoking' | 'fast' | 'encryption' | 'version'> {
  readonly ready: boolean
  readonly wire: { readonly amChoking: boolean; readonly hasFast: boolean; readonly encryption: PeerEncryption; readonly speaksV2: boolean | null }
  isSeed(): boolean
}

/** What the status needs of the piece state. */
export interface StatusPieces {
  haveCount(): number
  have(piece: number): boolean
  isComplete(): boolean
  availability(piece: number): number
  inEndgame(): boolean
  missingBlocks(): number
}

/** What the status needs of a file selection (download/priorities.ts's Selection). */
export interface WantedProgress {
  /** Bytes of wanted files. */
  wantedBytes(): number
  /** Bytes of wanted files in verified pieces. */
  wantedDone(have: (piece: number) => boolean): number
}

/** How start() found existing data: resume record, full check, or nothing there (`checked` = pieces hashed). */
export interface Restored {
  readonly source: 'empty' | 'resume' | 'check'
  readonly checked: number
}

/**
 * One torrent's counters.
 *
 * @example
 * ```ts
 * const status = new TorrentStatus(meta, picker, Date.now)
 * status.received(16384)
 * status.stats(peers.values())
 * ```
 */
export class TorrentStatus {
  /** 'starting', 'checking', 'downloading', 'seeding', 'shut down' or `error: ...`. */
  activity = 'starting'
  /** Fraction of existing data checked, while `activity` is 'checking'. */
  checkProgress = 0
  restored: Restored = { source: 'empty', checked: 0 }
  trackerSeeds = 0
  trackerPeers = 0
  downTotal = 0
  upTotal = 0
  /** Bytes received and thrown away (refused blocks, failed pieces). */
  discarded = 0
  /** Diagnostic (bench/swarm.ts): refused block bytes before endgame, while no block is asked of two peers. */
  refusedOutsideEndgame = 0
  lastBlockAt: number
  private readonly startedAt: number
  /** Accepted bytes per peer address over the torrent's life (peers come and go). */
  private readonly contributions = new Map<string, number>()
  private readonly down: RateMeter
  private readonly up: RateMeter
  /** The wanted bytes, when a file selection is made: progress counts only them. */
  wanted: WantedProgress | null = null

  constructor(
    private readonly meta: Pick<Metainfo, 'pieceCount' | 'pieceLength' | 'lastPieceLength' | 'length' | 'name'> & Partial<Pick<Metainfo, 'infoHash' | 'version' | 'v2' | 'fileBytes'>>,
    private readonly pieces: StatusPieces,
    private readonly now: () => number
  ) {
    this.startedAt = this.lastBlockAt = now()
    this.down = new RateMeter(5000, now)
    this.up = new RateMeter(5000, now)
  }

  /** Payload bytes arrived (accepted or not). */
  received(bytes: number): void {
    this.downTotal += bytes
    this.down.add(bytes)
  }

  /** A block of `bytes` from `address` was accepted. */
  accepted(address: string, bytes: number): void {
    this.contributions.set(address, (this.contributions.get(address) ?? 0) + bytes)
    this.lastBlockAt = this.now()
  }

  /** A tracker's seed and leecher counts. */
  trackerCounts(seeds: number, leechers: number): void {
    this.trackerSeeds = seeds
    this.trackerPeers = leechers
  }

  /** A block of `bytes` was refused (unrequested, duplicate, wrong size or place): wasted. */
  refused(bytes: number): void {
    this.discarded += bytes
    // Not after the last block either: endgame's late duplicates arrive then.
    if (!this.pieces.inEndgame() && this.pieces.missingBlocks() > 0) this.refusedOutsideEndgame += bytes
  }

  /** Payload bytes sent. */
  sent(bytes: number): void {
    this.upTotal += bytes
    this.up.add(bytes)
  }

  /** Accepted block bytes by peer address, since the torrent started. */
  contributed(): Record<string, number> {
    return Object.fromEntries(this.contributions)
  }

  verifiedBytes(): number {
    const n = this.pieces.haveCount()
    if (n === 0) return 0
    const last = this.meta.pieceCount - 1
    return n * this.meta.pieceLength - (this.pieces.have(last) ? this.meta.pieceLength - this.meta.lastPieceLength : 0)
  }

  bytesLeft(): number {
    if (this.wanted !== null) return this.wanted.wantedBytes() - this.wanted.wantedDone((p) => this.pieces.have(p))
    return this.meta.length - this.verifiedBytes()
  }

  /** Download rate, bytes per second (smoothed over 5 s). */
  downRate(): number {
    return this.down.rate()
  }

  /** Peers and what each moved. */
  peerInfo(peers: Iterable<StatusPeer>): PeerInfo[] {
    return [...peers].map((p) => ({
      address: p.address,
      source: p.source,
      remoteId: p.remoteId,
      downloaded: p.downloaded,
      uploaded: p.uploaded,
      amChoking: p.wire.amChoking,
      transport: p.transport,
      encryption: p.wire.encryption,
      fast: p.wire.hasFast,
      rejects: p.rejects,
      version: p.wire.speaksV2 === true ? 'v2' : 'v1'
    }))
  }

  private copiesOf(piece: number): number {
    return this.pieces.availability(piece) + (this.pieces.have(piece) ? 1 : 0)
  }

  /** The client's transports, for the stats' `transport` (set by the torrent from its context). */
  transportNote: (() => string) | undefined

  /** The client's port mapping, for the stats' `portMapping` (set by the torrent from its context). */
  portMappingNote: (() => string) | undefined

  /** The status dictionary, computed now; `extra` entries (web seeds, scrapes) are added as they are. */
  stats(peers: Iterable<StatusPeer>, extra: Partial<TorrentStats> = {}): TorrentStats {
    const pieceCount = this.meta.pieceCount
    const complete = this.pieces.isComplete()
    const downRate = Math.round(this.down.rate())
    const upRate = Math.round(this.up.rate())
    let numPeers = 0
    let numSeeds = 0
    const sources = noPeerSources()
    const transports = { tcp: 0, utp: 0 }
    const encryption = { rc4: 0, obfuscated: 0, none: 0 }
    const versions = { v1: 0, v2: 0 }
    for (const p of peers) {
      if (!p.ready) continue
      numPeers++
      if (p.isSeed()) numSeeds++
      sources[p.source]++
      transports[p.transport]++
      encryption[p.wire.encryption]++
      versions[p.wire.speaksV2 === true ? 'v2' : 'v1']++
    }
    // Distributed copies: the least-replicated piece's count, plus the
    // fraction of pieces that have more than that.
    let min = Infinity
    let above = 0
    for (let i = 0; i < pieceCount; i++) min = Math.min(min, this.copiesOf(i))
    for (let i = 0; i < pieceCount; i++) if (this.copiesOf(i) > min) above++
    const numCopies = pieceCount === 0 ? 0 : min + above / pieceCount
    let activity = this.activity
    if (activity === 'downloading' && this.now() - Math.max(this.lastBlockAt, this.startedAt) > STALL_AFTER && downRate === 0)
      activity = 'stalled'
    const left = this.bytesLeft()
    const length = this.wanted?.wantedBytes() ?? this.meta.length
    // The diagnostic rides along untyped: TorrentStats (messages.ts) stays as it is.
    const stats: TorrentStats & { refusedOutsideEndgame: number } = {
      refusedOutsideEndgame: this.refusedOutsideEndgame,
      activity,
      fractionDone: this.activity === 'checking' ? this.checkProgress : length === 0 ? 1 : (length - left) / length,
      timeEst: complete || downRate <= 0 ? null : Math.round(left / downRate),
      downRate,
      upRate,
      downTotal: this.downTotal,
      upTotal: this.upTotal,
      numPeers,
      numSeeds,
      trackerPeers: this.trackerPeers,
      trackerSeeds: this.trackerSeeds,
      numCopies: Math.round(numCopies * 1000) / 1000,
      discarded: this.discarded,
      piecesDone: this.pieces.haveCount(),
      piecesTotal: pieceCount,
      name: this.meta.name,
      size: this.meta.fileBytes ?? length,
      ...(this.wanted !== null && this.wanted.wantedBytes() < (this.meta.fileBytes ?? this.meta.length) ? { wanted: this.wanted.wantedBytes() } : {}),
      version: this.meta.version ?? 'v1',
      ...(this.meta.version === 'v2' || this.meta.infoHash === undefined ? {} : { infoHashV1: this.meta.infoHash }),
      ...(this.meta.v2 === undefined ? {} : { infoHashV2: this.meta.v2.infoHash }),
      peerSources: sources,
      peerTransports: transports,
      peerEncryption: encryption,
      peerVersions: versions,
      ...(this.transportNote ? { transport: this.transportNote() } : {}),
      ...(this.portMappingNote ? { portMapping: this.portMappingNote() } : {}),
      ...extra
    }
    return stats
  }
}
