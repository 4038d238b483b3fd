/**
 * One torrent's controller: storage + picker + hasher + peers + trackers.
 *
 * Data path: a block arrives on a peer's wire -> the picker accepts it -> it is
 * copied once into its piece's buffer (which frees the wire's receive buffer at
 * once and gives the hasher a buffer we own) and written to disk at its offset
 * straight away -> when the piece is complete and its writes are done, the
 * piece is hashed (off the main thread) -> have to every peer, or on a bad
 * hash: bytes discarded, piece back to the picker, its senders struck.
 * Memory is bounded by the pieces in progress, not by the torrent's size.
 *
 * @internal
 * @module
 */
import type net from 'node:net'
import type { Bitfield } from '../wire/bitfield.ts'
import { createHash, type Hash } from 'node:crypto'
import type { Metainfo, Storage } from '../contracts.ts'
import type { PoolHasher } from '../disk/hasher.ts'
import type { TorrentStats } from '../../messages.ts'
import { PiecePicker } from '../download/picker.ts'
import { restoreHave, createResumeWriter, type ResumeWriter } from '../disk/resume.ts'
import { Peer, connectPeer, adoptIncoming, MAX_REQUEST, MIN_DEPTH, type CappedWire, type KnownPeer, type PeerHandler, type PeerSource } from '../wire/peer.ts'
import { startTracker, type TrackerSession } from '../swarm/tracker.ts'
import { RateMeter } from '../policy/rate-meter.ts'
import { idleVerdict, PEER_IDLE_TIMEOUT } from '../policy/idle.ts'
import { soleRefetcher } from '../download/refetch.ts'
import { Choker, type ChokePeerView } from '../upload/choker.ts'
import { Throttle, TokenBucket, limitToRate } from '../policy/throttle.ts'
import { useWireExtensions } from '../wire/extensions.ts'
import { createTorrentPex, type PexWire, type TorrentPex } from '../swarm/torrent-pex.ts'
import { noPeerSources } from '../swarm/peer-sources.ts'
import type { DhtTorrentHooks, DhtTorrentSession } from '../swarm/client-dht.ts'
import type { LsdTorrentSession } from '../swarm/client-lsd.ts'
import { ReadCache, READ_SPAN, READ_SPANS } from '../upload/read-cache.ts'
import { sendBlock } from '../upload/block-writer.ts'
import type { FileStorage } from '../disk/file-storage.ts'
import { corkForTurn } from '../wire/cork.ts'

/**
 * Most bytes of complete pieces held in memory per torrent while they are
 * written and hashed. Past it no new requests go out until pieces drain.
 */
const MAX_BUFFERED = 8 << 20

/**
 * Bytes of spare piece buffers a downloading torrent keeps for its next
 * pieces (released once it is complete). The pieces open at once swing
 * between a few and several dozen (pipelines plus MAX_BUFFERED); with 16
 * spares, 1,867 of a 1 GiB download's 4,096 pieces got fresh 256 KiB buffers,
 * and V8 collected them in a 30 MiB sawtooth of external memory.
 */
const SPARE_BYTES = 16 << 20

/** Block size we request (the picker's default). */
const BLOCK = 16384

/** Contiguous bytes of a piece gathered before they are written. */
const WRITE_CHUNK = 64 * 1024

/** Refused blocks (never requested, or malformed) a peer may send before it is closed. */
export const MAX_UNREQUESTED = 8

/**
 * Upload requests queued per peer. libtorrent leechers pipeline up to 500 by
 * default (max_out_request_queue) and libtorrent as a seed accepts 2000
 * (max_allowed_in_request_queue) and drops the rest; we close a peer that
 * queues more than that: an honest client never needs it.
 */
export const MAX_UPLOAD_QUEUE = 2000

/** Answer bytes (queued in the wire and socket, or being read) per peer before reads pause. */
export const UPLOAD_BUFFER = 1 << 20

/** Recorded blocks of a piece that failed with several senders (smart ban). */
interface SuspectBlock {
  readonly block: number
  /** Sender's address (the picker's peer id) and its ban key (peer id, else address). */
  readonly address: string
  readonly key: string
  /** SHA-1 (hex) of the block as that sender delivered it. */
  readonly hash: string
}

/** Suspect records kept per piece; past it the oldest go (a piece failing over and over). */
const MAX_SUSPECTS_PER_PIECE = 256

/** What a torrent needs from its client. */
export interface TorrentContext {
  /** Our peer id, hex (20 bytes). */
  readonly peerId: string
  /** Our listening port (for trackers). */
  readonly port: number
  readonly hasher: PoolHasher
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
}

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
}

interface PieceBuffer {
  readonly buf: Buffer
  /** Received flag per block. */
  readonly got: Uint8Array
  /** Blocks received contiguously from the piece's start. */
  contig: number
  /** Bytes from the start already handed to storage. */
  written: number
  /** Running SHA-1 of bytes [0, written), when pieces are hashed as they arrive. */
  readonly hash: Hash | null
  pendingWrites: number
  complete: boolean
  /** Bytes each peer contributed to this attempt, by peer id. */
  readonly senders: Map<string, number>
  /** Sender of each block (peer id = address), for telling the liar from honest peers on a failure. */
  readonly from: string[]
}

/**
 * A running torrent.
 */
export class Torrent implements PeerHandler {
  readonly picker: PiecePicker
  private readonly peers = new Map<string, Peer>()
  private readonly known = new Map<string, KnownPeer>()
  private readonly banned = new Set<string>()
  private readonly strikes = new Map<string, number>()
  /** Blocks of pieces that failed with several senders, until the piece passes (smart ban). */
  private readonly suspects = new Map<number, SuspectBlock[]>()
  /** Ban key (peer id, else address) of every address that sent us a block, kept after it leaves. */
  private readonly banKeys = new Map<string, string>()
  private readonly pieces = new Map<number, PieceBuffer>()
  /** Spare full-size piece buffers: reusing them keeps allocation churn (and RSS) down at speed. */
  private readonly spare: Buffer[] = []
  /**
   * Bytes of complete pieces still being written or hashed. Bounded by
   * MAX_BUFFERED; pieces still receiving are bounded by the request pipelines
   * (and must not count here: throttling them could stop them ever completing).
   */
  private buffered = 0
  private throttled = false
  /** Accepted bytes per peer address over the torrent's life (peers come and go). */
  private readonly contributions = new Map<string, number>()
  private readonly down = new RateMeter(5000)
  private readonly up = new RateMeter(5000)
  private tracker: TrackerSession | null = null
  private trackerSeeds = 0
  private trackerPeers = 0
  private discarded = 0
  /** Diagnostic (bench/swarm.ts): refused block bytes before endgame, while no block is asked of two peers. */
  private refusedOutsideEndgame = 0
  private downTotal = 0
  private upTotal = 0
  private activity = 'starting'
  private error: string | null = null
  private checking: AbortController | null = null
  private checkProgress = 0
  private closed = false
  private started = false
  private readonly choker: Choker
  /** When each peer was first seen ready (the choker favours new peers for the optimistic slot). */
  private readonly connectedAt = new WeakMap<Peer, number>()
  private lastBlockAt = Date.now()
  private readonly startedAt = Date.now()
  private pendingIo = 0
  /** Upload and download limits: the client's bucket and this torrent's, both must allow. */
  private readonly upThrottle: Throttle
  private readonly downThrottle: Throttle
  /** Spans of pieces recently read for uploads (blocks are answered from them). */
  private readonly uploadCache: ReadCache
  /** Blocks read and waiting for upload budget, in arrival order (one FIFO per torrent is fair across peers). */
  private readonly paced: { peer: Peer; length: number; send: () => void }[] = []
  private pacedTimer: NodeJS.Timeout | null = null
  /** Pipelines wait for download budget: one timer refills them all. */
  private refillTimer: NodeJS.Timeout | null = null
  private readonly idleWaiters: (() => void)[] = []
  /** Everything peers have (for the first tick after complete). */
  private completeAnnounced = false
  /** Writes the resume record as pieces verify; null until checking is over. */
  private resume: ResumeWriter | null = null
  /** How start() found existing data: resume record, full check, or nothing there. */
  private restored: { source: 'empty' | 'resume' | 'check'; checked: number } = { source: 'empty', checked: 0 }
  /** Peer exchange with our peers; null when private or turned off. */
  private readonly pex: TorrentPex | null
  private dht: DhtTorrentSession | null = null
  private lsd: LsdTorrentSession | null = null

  constructor(
    readonly id: string,
    readonly meta: Metainfo,
    readonly folder: string,
    private readonly storage: Storage,
    private readonly ctx: TorrentContext,
    manualPeers: readonly string[]
  ) {
    // Into unzeroed memory when the storage can (every byte is overwritten).
    // Into unzeroed, recycled span buffers when the storage can (every byte is overwritten).
    const readInto = (storage as Partial<FileStorage>).readInto?.bind(storage)
    this.uploadCache = new ReadCache(
      (offset, length) => (readInto ? readInto(offset, Buffer.allocUnsafeSlow(length)) : storage.read(offset, length)),
      meta.pieceLength,
      meta.length,
      READ_SPAN,
      READ_SPANS,
      readInto
    )
    this.picker = new PiecePicker({ pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, length: meta.length })
    // Bad option values fall back to defaults rather than throwing out of torrent creation.
    const period = (v: number | undefined): number | undefined => (v !== undefined && v > 0 ? v : undefined)
    this.upThrottle = new Throttle(ctx.clientUp ?? new TokenBucket(Infinity), new TokenBucket(limitToRate(ctx.uploadRateLimit)))
    this.downThrottle = new Throttle(ctx.clientDown ?? new TokenBucket(Infinity), new TokenBucket(limitToRate(ctx.downloadRateLimit)))
    this.choker = new Choker({
      slots: Number.isInteger(ctx.uploadSlots) && ctx.uploadSlots >= 0 ? ctx.uploadSlots : 4,
      rechokeMs: period(ctx.rechokeInterval),
      optimisticMs: period(ctx.optimisticInterval)
    })
    this.pex = ctx.pex === false ? null : createTorrentPex({
      private: meta.private,
      intervalMs: ctx.pexInterval,
      onPeer: (addr) => this.addPeerAddress(addr, 'pex')
    })
    for (const p of manualPeers) this.addPeerAddress(p, 'manual')
  }

  // ------------------------------------------------------------------
  // lifecycle

  /** Check existing data if there is any, then join the swarm. */
  async start(): Promise<void> {
    try {
      const stats = await this.storage.stat()
      const anyData = stats.some((s) => s !== null && s.size > 0)
      if (anyData && !this.closed) {
        this.activity = 'checking'
        this.ctx.changed()
        this.checking = new AbortController()
        // The resume record vouches for pieces of unchanged files; only the rest is hashed.
        const restored = await restoreHave(
          this.folder,
          this.meta,
          this.storage,
          this.ctx.hasher,
          (done, total) => {
            this.checkProgress = total > 0 ? done / total : 1
          },
          this.checking.signal
        )
        this.checking = null
        if (this.closed) return
        this.restored = { source: restored.source, checked: restored.checked }
        this.picker.setHave(restored.have)
      }
    } catch (e) {
      if (this.closed) return
      this.fail(`checking failed: ${(e as Error).message}`)
      return
    }
    if (this.closed) return
    if (this.ctx.readOnly !== undefined && !this.picker.isComplete()) {
      this.fail(
        `the save folder ${this.folder} cannot be written (${this.ctx.readOnly}) and holds ${this.picker.haveCount()} of ${this.meta.pieceCount} pieces: only complete data can be seeded from it`
      )
      return
    }
    this.started = true
    this.activity = this.picker.isComplete() ? 'seeding' : 'downloading'
    this.completeAnnounced = this.picker.isComplete()
    if (this.ctx.readOnly === undefined) this.resume = createResumeWriter({
      folder: this.folder,
      metainfo: this.meta,
      // Verified pieces all have their writes resolved (a piece is hashed only after them).
      snapshot: async () => ({ have: this.picker.haveBitfield(), stats: await this.storage.stat() })
    })
    // Record what checking found, so the next start need not hash it again.
    if (this.picker.haveCount() > 0 && (this.restored.source !== 'resume' || this.restored.checked > 0)) this.resume?.changed()
    this.ctx.changed()
    try {
      this.tracker = this.startTrackers()
    } catch (e) {
      // A tracker URL the library cannot use must not stop the torrent: peers may come from elsewhere.
      this.tracker = null
      void e
    }
    this.dht = this.ctx.joinDht?.(this.meta.infoHash, this.meta.private, {
      onPeer: (host, port) => this.addPeerAddress(`${host}:${port}`, 'dht'),
      wanted: () => !this.picker.isComplete() && this.peers.size < this.ctx.maxConnsPerTorrent
    }) ?? null
    this.lsd = this.ctx.joinLsd?.(this.meta.infoHash, this.meta.private, (addr) => this.addPeerAddress(addr, 'lsd')) ?? null
    this.connectMore()
  }

  private startTrackers(): TrackerSession {
    return startTracker({
      infoHash: this.meta.infoHash,
      peerId: this.ctx.peerId,
      announce: this.meta.announce,
      port: this.ctx.port,
      stats: () => ({ uploaded: this.upTotal, downloaded: this.downTotal, left: this.bytesLeft() }),
      onPeer: (host, port) => this.addPeerAddress(`${host}:${port}`, 'tracker'),
      onCounts: (seeds, leechers) => {
        this.trackerSeeds = seeds
        this.trackerPeers = leechers
      }
    })
  }

  /** Every wire serves our info dictionary (BEP 9) and tells our listen port. */
  private readonly extendWire = (wire: CappedWire): void =>
    useWireExtensions(wire, { info: () => this.meta.infoBytes, port: this.ctx.port })

  /** Hex v1 info hash. */
  get infoHash(): string {
    return this.meta.infoHash
  }

  /** True once checking is over and peers may join. */
  get accepting(): boolean {
    return this.started && !this.closed && this.error === null
  }

  /** Stop: announce stopped, close peers, wait for in-flight writes, close files. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.activity = 'shut down'
    this.checking?.abort()
    if (this.pacedTimer !== null) clearTimeout(this.pacedTimer)
    if (this.refillTimer !== null) clearTimeout(this.refillTimer)
    this.pacedTimer = this.refillTimer = null
    this.paced.length = 0
    this.uploadCache.clear()
    const tracker = this.tracker?.stop()
    this.dht?.close()
    this.lsd?.close()
    this.pex?.destroy()
    for (const p of [...this.peers.values()]) p.close('torrent closed')
    await this.whenIdle()
    this.pieces.clear()
    // Last record before the files close (its stats must see the final sizes and mtimes).
    await this.resume?.close().catch(() => {})
    await Promise.allSettled([tracker, this.storage.close()])
  }

  private fail(reason: string): void {
    if (this.error !== null || this.closed) return
    this.error = reason
    this.activity = `error: ${reason}`
    this.checking?.abort()
    void this.tracker?.stop()
    this.tracker = null
    this.dht?.close()
    this.lsd?.close()
    this.pex?.destroy()
    for (const p of [...this.peers.values()]) p.close('torrent failed')
    this.pieces.clear()
    // A failed torrent holds no files open (the user may want to free the disk or unmount)
    // and writes no more resume records after a last one.
    void this.resume?.close().catch(() => {})
    const release = (): void => void this.storage.close().catch(() => {})
    void this.whenIdle().then(release)
    this.ctx.changed()
  }

  // ------------------------------------------------------------------
  // peers: discovery and connection

  /** Learn of a peer at `host:port`. */
  addPeerAddress(addr: string, source: PeerSource): void {
    const i = addr.lastIndexOf(':')
    if (i <= 0) return
    const host = addr.slice(0, i).replace(/^\[|\]$/g, '')
    const port = Number(addr.slice(i + 1))
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return
    const key = `${host}:${port}`
    if (this.banned.has(key) || this.ctx.isSelf?.(host, port) === true) return
    const k = this.known.get(key)
    if (k) {
      // Heard again (e.g. a fresh announce): allow a prompt retry.
      if (!k.connected) k.nextTry = Math.min(k.nextTry, Date.now())
    } else {
      this.known.set(key, { host, port, source, failures: 0, nextTry: 0, connected: false })
    }
    if (this.started) this.connectMore()
  }

  private connectMore(): void {
    if (!this.accepting) return
    // Seeds gain nothing from other seeds; still connect: most swarm peers are leechers.
    const now = Date.now()
    for (const [key, k] of this.known) {
      if (this.peers.size >= this.ctx.maxConnsPerTorrent || !this.ctx.canConnect()) return
      if (k.connected || k.nextTry > now || this.banned.has(key)) continue
      k.connected = true
      this.ctx.connectionsChanged(1)
      const peer = connectPeer(k.host, k.port, {
        infoHash: this.meta.infoHash,
        peerId: this.ctx.peerId,
        pieceCount: this.meta.pieceCount,
        source: k.source,
        address: key,
        handler: this,
        dht: this.usesDht(),
        extend: (w) => this.setupWire(w, undefined, key)
      })
      this.peers.set(key, peer)
    }
  }

  /** An incoming connection whose handshake named this torrent. */
  acceptIncoming(socket: net.Socket, wire: CappedWire, remoteId: string): boolean {
    const address = `${socket.remoteAddress}:${socket.remotePort}`
    if (!this.accepting || this.banned.has(remoteId) || this.peers.has(address)) return false
    if (this.peers.size >= this.ctx.maxConnsPerTorrent || !this.ctx.canConnect()) return false
    this.ctx.connectionsChanged(1)
    const peer = new Peer(socket, {
      infoHash: this.meta.infoHash,
      peerId: this.ctx.peerId,
      pieceCount: this.meta.pieceCount,
      source: 'incoming',
      address,
      handler: this,
      dht: this.usesDht(),
      extend: (w) => this.setupWire(w, socket.remoteAddress, null)
    }, wire)
    this.peers.set(address, peer)
    peer.acceptHandshake(remoteId)
    return true
  }

  /** BEP 10 set-up of a new wire, before our handshake: ut_metadata and `p` (extendWire), then ut_pex. */
  private setupWire(wire: CappedWire, remoteHost: string | undefined, dialled: string | null): void {
    this.extendWire(wire)
    this.pex?.attach(wire as unknown as PexWire, remoteHost, dialled)
    // BEP 5: a peer's PORT message names its DHT node (on the host we are connected to).
    const host = remoteHost ?? dialled?.slice(0, dialled.lastIndexOf(':')).replace(/^\[|\]$/g, '')
    if (this.usesDht() && host !== undefined) wire.on('port', (p: number) => this.ctx.dhtNode?.(host, p))
  }

  /** BEP 5 handshake bit and PORT messages: only with a DHT, and never for a private torrent. */
  private usesDht(): boolean {
    return !this.meta.private && this.ctx.dhtPort !== undefined
  }

  /** BEP 5: tell a peer that set the DHT bit where our DHT node listens (after the bitfield: BEP 3 wants it first). */
  private sendDhtPort(peer: Peer): void {
    const port = this.usesDht() ? this.ctx.dhtPort?.() ?? null : null
    if (port === null || !(peer.wire.peerExtensions as { dht?: boolean }).dht) return
    try {
      peer.wire.port(port)
    } catch {
      // a closing wire: nothing to tell
    }
  }

  // ------------------------------------------------------------------
  // PeerHandler

  onReady(peer: Peer): void {
    if (peer.remoteId && this.banned.has(peer.remoteId)) {
      peer.close('banned')
      return
    }
    for (const other of this.peers.values()) {
      if (other !== peer && other.ready && other.remoteId === peer.remoteId) {
        peer.close('duplicate connection')
        return
      }
    }
    const k = this.known.get(peer.address)
    if (k) k.failures = 0
    this.pex?.ready(peer.wire)
    if (this.picker.haveCount() > 0) peer.wire.bitfield(this.picker.haveBitfield().toBytes())
    this.sendDhtPort(peer)
  }

  onBitfield(peer: Peer, previous: Bitfield | null): void {
    if (previous) this.picker.removeAvailability(previous)
    this.picker.addAvailability(peer.bits)
    if (this.picker.isComplete() && peer.isSeed()) {
      peer.close('both seeds')
      return
    }
    this.updateInterest(peer)
  }

  onHave(peer: Peer, piece: number): void {
    this.picker.addHave(piece)
    if (!peer.wire.amInterested && !this.picker.have(piece)) {
      peer.wire.interested()
      this.fill(peer)
    } else if (peer.wire.amInterested) this.fill(peer)
  }

  onChoke(peer: Peer): void {
    this.picker.releasePeer(peer.id)
    this.refillAll()
  }

  onUnchoke(peer: Peer): void {
    peer.lastBlockAt = Date.now()
    this.fill(peer)
  }

  onInterested(peer: Peer): void {
    void peer
    this.rechoke()
  }

  onUninterested(peer: Peer): void {
    void peer
    this.rechoke()
  }

  onBlock(peer: Peer, piece: number, offset: number, data: Uint8Array): void {
    const length = data.length
    this.downTotal += length
    this.down.add(length)
    const res = piece < this.meta.pieceCount ? this.picker.received(peer.id, { piece, offset, length }) : null
    if (!res?.accepted) {
      // Refused (unrequested, duplicate, wrong size or place): wasted bytes.
      this.discarded += length
      // Not after the last block either: endgame's late duplicates arrive then.
      if (!this.picker.inEndgame() && this.picker.missingBlocks() > 0) this.refusedOutsideEndgame += length
      if (peer.refused(MAX_UNREQUESTED)) peer.close('sent blocks we did not request')
      else this.fill(peer)
      return
    }
    peer.delivered(length)
    this.contributions.set(peer.address, (this.contributions.get(peer.address) ?? 0) + length)
    this.lastBlockAt = peer.lastBlockAt
    for (const other of res.cancelPeers) this.peers.get(other)?.cancel(piece, offset, length)

    let pb = this.pieces.get(piece)
    if (!pb) {
      const size = this.picker.pieceSize(piece)
      pb = {
        buf: (size === this.meta.pieceLength ? this.spare.pop() : undefined) ?? Buffer.allocUnsafe(size),
        got: new Uint8Array(Math.ceil(size / BLOCK)),
        contig: 0,
        written: 0,
        hash: this.ctx.hashInline ? createHash('sha1') : null,
        pendingWrites: 0,
        complete: false,
        senders: new Map(),
        from: []
      }
      this.pieces.set(piece, pb)
    }
    pb.buf.set(data, offset)
    pb.senders.set(peer.id, (pb.senders.get(peer.id) ?? 0) + length)
    pb.from[offset / BLOCK] = peer.id
    if (!this.banKeys.has(peer.id)) this.banKeys.set(peer.id, peer.remoteId ?? peer.id)
    peer.unverified += length
    if (res.pieceComplete) {
      pb.complete = true
      this.buffered += pb.buf.length
    }
    // Write as data arrives, but coalesced: the contiguous run of received
    // blocks goes out once it reaches WRITE_CHUNK (and the rest when the
    // piece completes). One write per 16 KiB block cost more CPU than
    // anything else on the download path.
    pb.got[offset / BLOCK] = 1
    while (pb.contig < pb.got.length && pb.got[pb.contig]) pb.contig++
    const ready = Math.min(pb.contig * BLOCK, pb.buf.length)
    if (pb.complete) this.writeRange(piece, pb, pb.written, pb.buf.length)
    else if (ready - pb.written >= WRITE_CHUNK) this.writeRange(piece, pb, pb.written, ready)
    this.fill(peer)
  }

  onRequest(
    peer: Peer,
    piece: number,
    offset: number,
    length: number,
    respond: (err: Error | null, buf?: Uint8Array) => void
  ): void {
    // A request we cannot honestly answer is a protocol violation: drop the peer.
    if (
      piece < 0 ||
      piece >= this.meta.pieceCount ||
      !this.picker.have(piece) ||
      length <= 0 ||
      length > MAX_REQUEST ||
      offset < 0 ||
      offset + length > this.picker.pieceSize(piece)
    ) {
      peer.close('bad request')
      return
    }
    // Queued requests cost a few bytes each; the answers are read only as the
    // peer takes them (pumpUploads), so a peer that never reads costs at most
    // UPLOAD_BUFFER, and one that queues absurdly deep is dropped.
    if (peer.uploadQueue.length >= MAX_UPLOAD_QUEUE) {
      peer.close(`more than ${MAX_UPLOAD_QUEUE} queued requests`)
      return
    }
    peer.uploadQueue.push({ piece, offset, length, respond })
    this.pumpUploads(peer)
  }

  /** Read and send queued answers while the peer's unsent bytes stay under UPLOAD_BUFFER; resumes on 'drain'. */
  private pumpUploads(peer: Peer): void {
    while (peer.uploadQueue.length > 0 && !peer.closed && !this.closed) {
      if (peer.outgoingBytes() >= UPLOAD_BUFFER) {
        if (!peer.awaitingDrain) {
          peer.awaitingDrain = true
          peer.socket.once('drain', () => {
            peer.awaitingDrain = false
            this.pumpUploads(peer)
          })
        }
        return
      }
      const { piece, offset, length, respond } = peer.uploadQueue.shift()!
      // After our choke the library drops answers to earlier requests: do not read them.
      if (peer.wire.amChoking) continue
      this.serveUpload(peer, piece, offset, length, respond)
    }
  }

  private serveUpload(
    peer: Peer,
    piece: number,
    offset: number,
    length: number,
    respond: (err: Error | null, buf?: Uint8Array) => void
  ): void {
    // Counted from the read until the wire has the bytes (pacing may hold them).
    peer.uploadReading += length
    this.pendingIo++
    this.uploadCache.lease(piece, offset, length).then(
      ({ data, release }) => {
        this.ioDone()
        // An unreleased lease only means its span buffer is not recycled.
        if (peer.closed || this.closed) return
        const send = (): void => {
          if (peer.closed || this.closed) return
          // The answers of this turn leave in one writev.
          corkForTurn(peer.socket)
          peer.uploadReading -= length
          this.upTotal += length
          this.up.add(length)
          // Straight to the socket when the wire has nothing queued; the span
          // is released once the socket is done with the block.
          sendBlock(peer.wire, peer.socket, respond, piece, offset, data, release)
          this.pumpUploads(peer)
        }
        this.paceUpload(peer, length, send)
      },
      (e: Error) => {
        this.ioDone()
        peer.uploadReading -= length
        respond(e)
        this.pumpUploads(peer)
      }
    )
  }

  onClose(peer: Peer, reason: string): void {
    void reason
    if (this.peers.get(peer.address) !== peer) return
    this.peers.delete(peer.address)
    this.pex?.closed(peer.wire)
    this.ctx.connectionsChanged(-1)
    this.picker.releasePeer(peer.id)
    if (peer.ready) this.picker.removeAvailability(peer.bits)
    // Its slot (if it had one) goes to someone else at once.
    if (!this.closed) this.rechoke()
    const k = this.known.get(peer.address)
    if (k) {
      k.connected = false
      k.failures++
      k.nextTry = Date.now() + Math.min(60000, 2000 * 2 ** Math.min(k.failures, 5))
      if (k.failures > 6 && k.source !== 'manual') this.known.delete(peer.address)
    }
    if (!this.closed) {
      this.refillAll()
      this.connectMore()
    }
  }

  // ------------------------------------------------------------------
  // requests

  private updateInterest(peer: Peer): void {
    if (!peer.ready || peer.closed) return
    let wants = false
    if (!this.picker.isComplete()) {
      for (let i = 0; i < this.meta.pieceCount; i++) {
        if (peer.bits.get(i) && !this.picker.have(i)) {
          wants = true
          break
        }
      }
    }
    if (wants && !peer.wire.amInterested) peer.wire.interested()
    else if (!wants && peer.wire.amInterested) peer.wire.uninterested()
    if (wants) this.fill(peer)
  }

  /** Top up a peer's pipeline. */
  private fill(peer: Peer): void {
    if (this.closed || !peer.ready || peer.closed || peer.wire.peerChoking || !peer.wire.amInterested) return
    // Disk or hasher behind the network: stop asking until pieces drain (memory stays bounded).
    if (this.buffered > MAX_BUFFERED) {
      this.throttled = true
      return
    }
    const inflight = peer.inflight
    let room = peer.depth - inflight
    if (!peer.trusted) {
      const budget = 2 * this.meta.pieceLength - peer.unverified - inflight * BLOCK
      room = Math.min(room, Math.floor(budget / BLOCK))
      if (room <= 0) return
    }
    // Ask in batches: one pick (and one socket write) per several blocks.
    if (room < Math.max(16, peer.depth / 4) && inflight > 0) return
    // Download limit: gate the requests (what arrives is what we asked for),
    // charged when asked; a request lost to a choke errs under the limit.
    const now = Date.now()
    const afford = Math.floor(this.downThrottle.available(now) / BLOCK)
    if (afford <= 0) {
      this.refillLater(this.downThrottle.delay(BLOCK, now))
      return
    }
    const reqs = this.picker.pick(peer, Math.min(room, afford))
    let asked = 0
    for (const r of reqs) asked += r.length
    this.downThrottle.charge(asked, now)
    peer.requestMany(reqs)
  }

  /** Refill every pipeline in `ms` (download budget): one timer per torrent. */
  private refillLater(ms: number): void {
    if (this.refillTimer !== null || this.closed) return
    this.refillTimer = setTimeout(() => {
      this.refillTimer = null
      if (!this.closed) this.refillAll()
    }, Math.max(1, ms))
  }

  /**
   * Upload limit: `send` (a block already read) goes now if the budget
   * allows and nobody waits before it, else in FIFO order as budget comes.
   * The per-peer read queue (pumpUploads) bounds what waits here.
   */
  private paceUpload(peer: Peer, length: number, send: () => void): void {
    if (this.paced.length === 0 && this.upThrottle.take(length, Date.now()) === 0) return send()
    this.paced.push({ peer, length, send })
    this.pumpPaced()
  }

  private pumpPaced(): void {
    if (this.pacedTimer !== null || this.closed) return
    while (this.paced.length > 0) {
      const job = this.paced[0]!
      // A gone or choked peer's block would not leave: it costs no budget.
      if (job.peer.closed || job.peer.wire.amChoking) {
        this.paced.shift()
        job.send()
        continue
      }
      const wait = this.upThrottle.take(job.length, Date.now())
      if (wait > 0) {
        this.pacedTimer = setTimeout(() => {
          this.pacedTimer = null
          this.pumpPaced()
        }, wait)
        return
      }
      this.paced.shift()
      job.send()
    }
  }

  private refillAll(): void {
    for (const p of this.peers.values()) this.fill(p)
  }

  /**
   * Apply the choker's decision (BEP 3 / mainline: regular slots re-chosen
   * every 10 s by rate, one optimistic unchoke rotated every 30 s). Cheap
   * enough for every tick and interest change: the choker keeps its own time.
   */
  private rechoke(): void {
    // With nothing to offer, unchoking only invites requests we must refuse.
    if (!this.accepting || this.picker.haveCount() === 0) return
    const now = Date.now()
    const views: ChokePeerView[] = []
    for (const p of this.peers.values()) {
      if (!p.ready || p.closed) continue
      let since = this.connectedAt.get(p)
      if (since === undefined) this.connectedAt.set(p, (since = now))
      views.push({
        id: p.id,
        interested: p.wire.peerInterested,
        downRateFromPeer: p.down.rate(),
        upRateToPeer: p.up.rate(),
        snubbed: p.timeouts > 0,
        connectedAt: since,
        amChoking: p.wire.amChoking
      })
    }
    const { unchoke, choke } = this.choker.rechoke(now, views, this.picker.isComplete())
    // The wire forgets the peer's pending requests on choke; pumpUploads skips queued ones.
    for (const id of choke) this.peers.get(id)?.wire.choke()
    for (const id of unchoke) this.peers.get(id)?.wire.unchoke()
  }

  // ------------------------------------------------------------------
  // verification

  private writeRange(piece: number, pb: PieceBuffer, from: number, to: number): void {
    pb.written = to
    // Ranges come in order from the piece's start, so the running hash sees the piece in order.
    if (pb.hash && to > from) pb.hash.update(pb.buf.subarray(from, to))
    if (to <= from) {
      if (pb.complete && pb.pendingWrites === 0) this.verify(piece, pb)
      return
    }
    pb.pendingWrites++
    this.pendingIo++
    this.storage.write(piece * this.meta.pieceLength + from, pb.buf.subarray(from, to)).then(
      () => {
        pb.pendingWrites--
        this.ioDone()
        if (pb.complete && pb.pendingWrites === 0) this.verify(piece, pb)
      },
      (e: Error) => {
        pb.pendingWrites--
        this.ioDone()
        this.fail(`cannot write: ${e.message}`)
      }
    )
  }

  private dropPiece(piece: number, pb: PieceBuffer): void {
    if (this.pieces.get(piece) !== pb) return
    this.pieces.delete(piece)
    if (pb.complete) this.buffered -= this.picker.pieceSize(piece)
    // Reusable unless it went to a worker (moved buffers come back detached, length 0).
    if (this.picker.isComplete()) this.spare.length = 0
    else if (pb.pendingWrites === 0 && pb.buf.length === this.meta.pieceLength && (this.spare.length + 1) * this.meta.pieceLength <= SPARE_BYTES)
      this.spare.push(pb.buf)
    if (this.throttled && this.buffered <= MAX_BUFFERED / 2) {
      this.throttled = false
      this.refillAll()
    }
  }

  private verify(piece: number, pb: PieceBuffer): void {
    const expected = this.meta.pieceHashes.subarray(piece * 20, piece * 20 + 20)
    if (pb.hash) {
      this.settle(piece, pb, Buffer.from(expected.buffer, expected.byteOffset, 20).equals(pb.hash.digest()))
      return
    }
    this.pendingIo++
    // Every write of the piece is done, so its buffer can move to the worker (zero-copy).
    this.ctx.hasher.verify([pb.buf], expected, { transfer: true }).then(
      (ok) => {
        this.ioDone()
        this.settle(piece, pb, ok)
      },
      (e: Error) => {
        this.ioDone()
        this.dropPiece(piece, pb)
        if (!this.closed) this.fail(`hashing failed: ${e.message}`)
      }
    )
  }

  /** A piece's hash check is over and its bytes are on disk. */
  private settle(piece: number, pb: PieceBuffer, ok: boolean): void {
    this.dropPiece(piece, pb)
    if (this.closed) return
    for (const [id, bytes] of pb.senders) {
      const p = this.peers.get(id)
      if (!p) continue
      p.unverified = Math.max(0, p.unverified - bytes)
      p.trusted = ok
    }
    if (ok) {
      if (this.suspects.has(piece)) this.pieceData(piece, pb, (data) => this.judgeSuspects(piece, data))
      this.pieceVerified(piece)
    } else this.pieceFailed(piece, pb)
  }

  /**
   * The piece's bytes as they were hashed: its buffer when it was hashed
   * inline (still intact: nothing reuses it before this returns), else read
   * back from storage (the buffer went to a worker). `use` gets null on a
   * read error.
   */
  private pieceData(piece: number, pb: PieceBuffer, use: (data: Uint8Array | null) => void): void {
    const size = this.picker.pieceSize(piece)
    if (pb.buf.length === size) return use(pb.buf)
    this.pendingIo++
    this.storage.read(piece * this.meta.pieceLength, size).then(
      (buf) => {
        this.ioDone()
        use(buf)
      },
      () => {
        this.ioDone()
        use(null)
      }
    )
  }

  private blockHash(data: Uint8Array, block: number): string {
    return createHash('sha1').update(data.subarray(block * BLOCK, (block + 1) * BLOCK)).digest('hex')
  }

  /**
   * A piece that failed before now passed: every sender whose recorded block
   * differs from the good one lied (libtorrent's "smart ban"). One strike per
   * liar per piece; honest senders of the failed attempts are never struck.
   */
  private judgeSuspects(piece: number, data: Uint8Array | null): void {
    const records = this.suspects.get(piece)
    this.suspects.delete(piece)
    if (!records || !data || this.closed) return
    const good = new Map<number, string>()
    const liars = new Map<string, string>()
    for (const r of records) {
      let h = good.get(r.block)
      if (h === undefined) good.set(r.block, (h = this.blockHash(data, r.block)))
      if (h !== r.hash) liars.set(r.key, r.address)
    }
    for (const [key, address] of liars) this.strike(key, address, 1)
  }

  /** Count a strike against a sender (by peer id and by address); ban it at `banStrikes`. */
  private strike(key: string, address: string, weight: number): void {
    let worst = 0
    for (const k of new Set([key, address])) {
      const s = (this.strikes.get(k) ?? 0) + weight
      this.strikes.set(k, s)
      worst = Math.max(worst, s)
    }
    if (worst < this.ctx.banStrikes) return
    this.banned.add(key)
    this.banned.add(address)
    this.known.delete(address)
    this.peers.get(address)?.close('banned: sent bad data')
    for (const p of [...this.peers.values()]) if (p.remoteId === key) p.close('banned: sent bad data')
  }

  private pieceVerified(piece: number): void {
    this.picker.verified(piece)
    this.resume?.changed()
    // No redundant haves: a peer that has the piece gains nothing from hearing
    // of ours (and to a seed that is one socket write per piece saved).
    for (const p of this.peers.values()) if (p.ready && !p.bits.get(piece)) p.wire.have(piece)
    if (this.picker.haveCount() === 1) this.rechoke()
    this.refillAll()
    if (this.picker.isComplete() && !this.completeAnnounced) {
      this.completeAnnounced = true
      this.activity = 'seeding'
      void this.resume?.flush()
      this.tracker?.completed()
      for (const p of [...this.peers.values()]) {
        if (p.ready && p.isSeed()) p.close('both seeds')
        else if (p.wire.amInterested) p.wire.uninterested()
      }
      this.ctx.changed()
    }
  }

  private pieceFailed(piece: number, pb: PieceBuffer): void {
    this.discarded += this.picker.pieceSize(piece) // pb.buf was moved to the hasher
    if (pb.senders.size === 1) {
      // A sole sender is surely at fault.
      this.picker.failed(piece)
      for (const address of pb.senders.keys()) this.strike(this.banKeys.get(address) ?? address, address, 1)
      this.refillAll()
      return
    }
    // Shared: the fault is unknown, so nobody is struck now. Remember what
    // each sender gave per block; once the piece passes, the blocks that
    // differ name the liar (judgeSuspects). The piece goes back to the picker
    // only after its bytes are recorded: until then nothing can overwrite them.
    this.pieceData(piece, pb, (data) => {
      if (data && !this.closed) {
        const list = this.suspects.get(piece) ?? []
        pb.from.forEach((address, block) => {
          if (address === undefined) return
          list.push({ block, address, key: this.banKeys.get(address) ?? address, hash: this.blockHash(data, block) })
        })
        this.suspects.set(piece, list.slice(-MAX_SUSPECTS_PER_PIECE))
      }
      if (this.closed) return
      this.picker.failed(piece)
      // Re-download it from one sender alone: the next check names the liar at once.
      const only = soleRefetcher(pb.senders, (address) => {
        const p = this.peers.get(address)
        return p !== undefined && p.ready && !p.closed && p.has(piece)
      })
      if (only !== undefined) this.picker.restrict(piece, only)
      this.refillAll()
    })
  }

  /** Resolves once no write, read or hash of this torrent is in flight. */
  private whenIdle(): Promise<void> {
    return this.pendingIo === 0 ? Promise.resolve() : new Promise<void>((r) => this.idleWaiters.push(r))
  }

  private ioDone(): void {
    this.pendingIo--
    if (this.pendingIo === 0) for (const r of this.idleWaiters.splice(0)) r()
  }

  // ------------------------------------------------------------------
  // periodic work and status

  /** Called by the client about once a second: timeouts, pipelines, interest, connections. */
  tick(): void {
    if (!this.accepting) return
    const now = Date.now()
    for (const p of [...this.peers.values()]) {
      if (!p.ready) continue
      p.adapt()
      if (p.inflight > 0 && now - p.lastBlockAt > this.ctx.requestTimeout) {
        // Stalled: hand its blocks to others, and shrink what it may hold.
        for (const r of this.picker.requestedBy(p.id)) p.cancel(r.piece, r.offset, r.length)
        this.picker.releasePeer(p.id)
        p.forgetRequests()
        p.depth = MIN_DEPTH
        p.lastBlockAt = now
        p.timeouts++
        if (p.timeouts >= 3) p.close('too many request timeouts')
      }
      this.dropIfIdle(p, now)
    }
    for (const p of this.peers.values()) if (p.ready && !this.picker.isComplete()) this.updateInterest(p)
    this.rechoke()
    this.connectMore()
    if (!this.picker.isComplete() && this.readyPeers() === 0 && now - this.lastBlockAt > 15000) this.tracker?.update()
  }

  private dropIfIdle(p: Peer, now: number): void {
    if (p.closed) return
    const timeout = this.ctx.peerIdleTimeout ?? PEER_IDLE_TIMEOUT
    const verdict = idleVerdict({ amInterested: p.wire.amInterested, peerInterested: p.wire.peerInterested, lastUsefulAt: p.lastUsefulAt }, now, timeout)
    if (verdict === 'busy') p.lastUsefulAt = now
    else if (verdict === 'idle') p.close(`idle: nothing useful for ${Math.round((now - p.lastUsefulAt) / 1000)} s and neither side interested`)
  }

  private readyPeers(): number {
    let n = 0
    for (const p of this.peers.values()) if (p.ready) n++
    return n
  }

  private bytesLeft(): number {
    return this.meta.length - this.verifiedBytes()
  }

  private verifiedBytes(): number {
    const n = this.picker.haveCount()
    const last = this.meta.pieceCount - 1
    if (n === 0) return 0
    return n * this.meta.pieceLength - (this.picker.have(last) ? this.meta.pieceLength - this.meta.lastPieceLength : 0)
  }

  /** Peers and what each moved (tests use it to see who contributed). */
  peerInfo(): PeerInfo[] {
    return [...this.peers.values()].map((p) => ({
      address: p.address,
      source: p.source,
      remoteId: p.remoteId,
      downloaded: p.downloaded,
      uploaded: p.uploaded,
      amChoking: p.wire.amChoking
    }))
  }

  /** Accepted block bytes by peer address, since the torrent started. */
  contributed(): Record<string, number> {
    return Object.fromEntries(this.contributions)
  }

  /** How the last start found existing data (diagnostics: `checked` = pieces hashed, not trusted from the resume record). */
  restoredFrom(): { source: 'empty' | 'resume' | 'check'; checked: number } {
    return { ...this.restored }
  }

  /** Addresses and peer ids banned from this torrent. */
  bannedPeers(): string[] {
    return [...this.banned]
  }

  private copiesOf(piece: number): number {
    return this.picker.availability(piece) + (this.picker.have(piece) ? 1 : 0)
  }

  /** The status dictionary, computed now. */
  stats(): TorrentStats {
    const pieceCount = this.meta.pieceCount
    const done = this.picker.haveCount()
    const complete = this.picker.isComplete()
    const downRate = Math.round(this.down.rate())
    const upRate = Math.round(this.up.rate())
    let numPeers = 0
    let numSeeds = 0
    const sources = noPeerSources()
    for (const p of this.peers.values()) {
      if (!p.ready) continue
      numPeers++
      if (p.isSeed()) numSeeds++
      sources[p.source]++
    }
    // Distributed copies: the least-replicated piece's count, plus the
    // fraction of pieces that have more than that.
    let min = Infinity
    let above = 0
    for (let i = 0; i < pieceCount; i++) min = Math.min(min, this.copiesOf(i))
    for (let i = 0; i < pieceCount; i++) if (this.copiesOf(i) > min) above++
    const numCopies = pieceCount === 0 ? 0 : min + above / pieceCount
    let activity = this.activity
    if (activity === 'downloading' && Date.now() - Math.max(this.lastBlockAt, this.startedAt) > 15000 && downRate === 0)
      activity = 'stalled'
    const left = this.bytesLeft()
    // The diagnostic rides along untyped: TorrentStats (messages.ts) stays as it is.
    const stats: TorrentStats & { refusedOutsideEndgame: number } = {
      refusedOutsideEndgame: this.refusedOutsideEndgame,
      activity,
      fractionDone: this.activity === 'checking' ? this.checkProgress : this.meta.length === 0 ? 1 : (this.meta.length - left) / this.meta.length,
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
      piecesDone: done,
      piecesTotal: pieceCount,
      name: this.meta.name,
      size: this.meta.length,
      peerSources: sources
    }
    return stats
  }
}
