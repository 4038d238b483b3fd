/**
 * One torrent's coordinator: it owns the parts (peer book, connections,
 * discovery, request pipeline, assembly, smart ban, upload queue, upload
 * slots, file reading, status; docs/engine.md says what each owns) and
 * routes each peer event to the part that handles it. Its own concern is the
 * lifecycle: check existing data, join the swarm, close or fail.
 *
 * @internal
 * @module
 */
import type { Bitfield } from '../wire/bitfield.ts'
import type { Metainfo, Storage } from '../contracts.ts'
import type { FilePriority, TorrentStats } from '../../messages.ts'
import { PiecePicker } from '../download/picker.ts'
import { restoreHave, createResumeWriter, type ResumeWriter } from '../disk/resume.ts'
import type { CappedWire, Peer, PeerHandler, PeerSource } from '../wire/peer.ts'
import { PEER_IDLE_TIMEOUT } from '../policy/idle.ts'
import { torrentThrottle } from '../policy/throttle.ts'
import { PeerBook } from '../swarm/peer-book.ts'
import { PieceAssembly, type PieceAttempt } from '../download/assembly.ts'
import { SmartBan } from '../download/smart-ban.ts'
import { v2Blame } from './leaf-source.ts'
import { RequestPipeline } from '../download/requests.ts'
import type { HandedOver } from './handover.ts'
import { UploadQueue } from '../upload/upload-queue.ts'
import { UploadSlots } from '../upload/slots.ts'
import { Connections } from './connections.ts'
import { webSeedsOf, type WebSeeds } from './web-seeds.ts'
import { Discovery, REANNOUNCE_WHEN_ALONE } from './discovery.ts'
import { PendingIo } from './pending-io.ts'
import { TorrentStatus, type PeerInfo, type Restored } from './status.ts'
import type { TorrentContext } from './context.ts'
import type { PeerSocket } from '../wire/transport.ts'
import { TorrentReading } from './reading.ts'
import type { TorrentStreams } from '../stream/torrent-streams.ts'

export type { PeerInfo } from './status.ts'

/** A running torrent. */
export class Torrent implements PeerHandler {
  readonly picker: PiecePicker
  private readonly now: () => number
  private readonly book: PeerBook
  private readonly conns: Connections
  private readonly requests: RequestPipeline
  private readonly assembly: PieceAssembly
  private readonly smartBan: SmartBan
  private readonly uploads: UploadQueue
  private readonly slots: UploadSlots
  private readonly status: TorrentStatus
  private readonly io = new PendingIo()
  private readonly discovery: Discovery
  private readonly reading: TorrentReading
  /** BEP 19 web seeds (null when the torrent names none or they are off). */
  private readonly webSeeds: WebSeeds | null
  private checking: AbortController | null = null
  private error: string | null = null
  private closed = false
  private started = false
  /** Everything peers have (for the first tick after complete). */
  private completeAnnounced = false
  /** Writes the resume record as pieces verify; null until checking is over. */
  private resume: ResumeWriter | null = null

  constructor(
    readonly id: string,
    readonly meta: Metainfo,
    readonly folder: string,
    private readonly storage: Storage,
    private readonly ctx: TorrentContext,
    manualPeers: readonly string[],
    priorities: readonly FilePriority[] = meta.files.map((f) => (f.pad ? 'skip' : 'normal'))
  ) {
    const now = (this.now = ctx.now ?? Date.now)
    const closed = (): boolean => this.closed
    const picker = (this.picker = new PiecePicker({ pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, length: meta.length }))
    this.status = new TorrentStatus(meta, picker, now)
    this.status.transportNote = ctx.transportNote
    this.status.portMappingNote = ctx.portMappingNote
    this.slots = UploadSlots.of(ctx, now)
    const up = torrentThrottle(ctx.clientUp, ctx.uploadRateLimit)
    this.uploads = new UploadQueue({ pieces: picker, storage, throttle: up, io: this.io, now, sent: (n) => this.status.sent(n), closed })
    this.book = new PeerBook({ isSelf: ctx.isSelf, now })
    const learnt = (addr: string): void => this.addPeerAddress(addr, 'pex')
    const readPiece = (p: number) => picker.have(p) ? storage.read(p * meta.pieceLength, picker.pieceSize(p)) : null
    this.conns = new Connections({ meta, ctx, handler: this, book: this.book, learnt, accepting: () => this.accepting, readPiece, complete: () => picker.hasAll() })
    this.assembly = new PieceAssembly({
      meta, pieces: picker, storage, hasher: ctx.hasher, hashInline: ctx.hashInline === true, io: this.io, closed,
      settled: (piece, ok, attempt) => this.settled(piece, ok, attempt),
      failed: (reason) => this.fail(reason),
      drained: () => this.requests.refillAll()
    })
    this.requests = new RequestPipeline({
      picker, now, closed, requestTimeout: ctx.requestTimeout, rate: () => this.status.downRate(),
      throttle: torrentThrottle(ctx.clientDown, ctx.downloadRateLimit),
      full: () => this.assembly.full(),
      peers: () => this.conns.values(),
      peer: (id) => this.conns.get(id),
      refused: (_peer, bytes) => this.status.refused(bytes)
    })
    this.smartBan = new SmartBan({
      picker, closed, banStrikes: ctx.banStrikes, blockSize: picker.blockSize,
      canRefetch: (address, piece) => this.conns.get(address)?.servesPiece(piece) === true,
      onBan: (key, address) => this.conns.ban(key, address),
      v2: v2Blame(meta, () => this.conns.hashExchanges())
    })
    this.discovery = new Discovery({
      meta, ctx,
      stats: () => ({ uploaded: this.status.upTotal, downloaded: this.status.downTotal, left: this.status.bytesLeft() }),
      onPeer: (addr, source) => this.addPeerAddress(addr, source),
      onCounts: (seeds, leechers) => this.status.trackerCounts(seeds, leechers),
      wanted: () => !picker.isComplete() && this.conns.size < ctx.maxConnsPerTorrent
    })
    this.reading = new TorrentReading({
      meta, priorities, picker, storage, now,
      rate: () => this.status.downRate(),
      replan: () => this.conns.each((p) => this.requests.updateInterest(p)),
      wantsMore: () => {
        this.completeAnnounced = false
        if (this.accepting) this.status.activity = 'downloading'
        this.conns.dialMore()
      },
      changed: () => {
        this.status.wanted = this.reading.selective() ? this.reading.selection : null
        this.resume?.changed()
        this.ctx.changed()
      },
      fileComplete: () => this.ctx.changed()
    })
    this.status.wanted = this.reading.selective() ? this.reading.selection : null
    for (const p of manualPeers) this.addPeerAddress(p, 'manual')
    this.webSeeds = webSeedsOf({ meta, ctx, picker, assembly: () => this.assembly, status: this.status, running: () => this.accepting })
  }

  // ------------------------------------------------------------------
  // lifecycle

  /**
   * Check existing data if there is any, then join the swarm; `handOver`
   * runs once peers may join, before any dial (a magnet's session hands its
   * live connections over there, with {@link Torrent.adopt}).
   */
  async start(handOver?: () => void): Promise<void> {
    try {
      const stats = await this.storage.stat()
      const anyData = stats.some((s) => s !== null && s.size > 0)
      if (anyData && !this.closed) {
        this.status.activity = 'checking'
        this.ctx.changed()
        this.checking = new AbortController()
        // The resume record vouches for pieces of unchanged files; only the rest is hashed.
        const restored = await restoreHave(this.folder, this.meta, this.storage, this.ctx.hasher, (done, total) => {
          this.status.checkProgress = total > 0 ? done / total : 1
        }, this.checking.signal)
        this.checking = null
        if (this.closed) return
        this.status.restored = { source: restored.source, checked: restored.checked }
        this.picker.setHave(restored.have)
      }
    } catch (e) {
      if (this.closed) return
      this.fail(`checking failed: ${(e as Error).message}`)
      return
    }
    if (this.closed) return
    if (this.ctx.readOnly !== undefined && !this.picker.isComplete()) {
      const have = `${this.picker.haveCount()} of ${this.meta.pieceCount} pieces`
      return this.fail(`the save folder ${this.folder} cannot be written (${this.ctx.readOnly}) and holds ${have}: only complete data can be seeded from it`)
    }
    this.started = true
    this.status.activity = this.picker.isComplete() ? 'seeding' : 'downloading'
    this.completeAnnounced = this.picker.isComplete()
    if (this.ctx.readOnly === undefined) this.resume = createResumeWriter({
      folder: this.folder,
      metainfo: this.meta,
      // Verified pieces all have their writes resolved (a piece is hashed only after them).
      snapshot: async () => ({ have: this.picker.haveBitfield(), stats: await this.storage.stat(), priorities: this.reading.selection.priorities() })
    })
    // Record what checking found, so the next start need not hash it again.
    const restored = this.status.restored
    if (this.picker.haveCount() > 0 && (restored.source !== 'resume' || restored.checked > 0)) this.resume?.changed()
    this.ctx.changed()
    handOver?.()
    this.discovery.start()
    this.conns.dialMore()
    this.webSeeds?.start()
  }

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
    this.status.activity = 'shut down'
    this.reading.stop('torrent closed')
    const tracker = this.leaveSwarm('torrent closed')
    await this.io.idle()
    this.assembly.clear()
    // Last record before the files close (its stats must see the final sizes and mtimes).
    await this.resume?.close().catch(() => {})
    await Promise.allSettled([tracker, this.storage.close()])
  }

  private fail(reason: string): void {
    if (this.error !== null || this.closed) return
    this.error = reason
    this.status.activity = `error: ${reason}`
    this.reading.stop(`torrent failed: ${reason}`)
    void this.leaveSwarm('torrent failed')
    this.assembly.clear()
    // A failed torrent holds no files open (the user may want to free the disk or unmount)
    // and writes no more resume records after a last one.
    void this.resume?.close().catch(() => {})
    void this.io.idle().then(() => void this.storage.close().catch(() => {}))
    this.ctx.changed()
  }

  /** Stop checking, timers, discovery and every peer; resolves when the trackers heard we stopped. */
  private leaveSwarm(reason: string): Promise<void> | undefined {
    this.checking?.abort()
    this.uploads.clear()
    this.requests.clear()
    const tracker = this.discovery.stop()
    this.conns.stop(reason)
    return Promise.all([tracker, this.webSeeds?.stop()]).then(() => {})
  }

  // ------------------------------------------------------------------
  // peers

  /** Learn of a peer at `host:port`. */
  addPeerAddress(addr: string, source: PeerSource): void {
    if (this.book.add(addr, source) !== null && this.started) this.conns.dialMore()
  }

  /** An incoming connection whose handshake named this torrent. */
  acceptIncoming(socket: PeerSocket, wire: CappedWire, remoteId: string, named?: string): boolean {
    return this.conns.acceptIncoming(socket, wire, remoteId, named)
  }

  /** A magnet's metadata-phase connection, handshaken already (torrent/handover.ts): false when refused. */
  adopt(h: HandedOver): boolean {
    return this.conns.adopt(h)
  }

  onReady(peer: Peer): void {
    if (!this.conns.admit(peer)) return
    this.conns.greet(peer, this.picker.haveBitfield(), this.meta.infoHashBytes)
    this.conns.sendDhtPort(peer)
  }

  onBitfield(peer: Peer, previous: Bitfield | null): void {
    if (previous) this.picker.removeAvailability(previous)
    this.picker.addAvailability(peer.bits)
    if (this.picker.hasAll() && peer.isSeed()) {
      peer.close('both seeds')
      return
    }
    this.requests.updateInterest(peer)
  }

  onHave(peer: Peer, piece: number): void {
    this.picker.addHave(piece)
    this.requests.announced(peer, piece)
  }

  onChoke(peer: Peer): void {
    // With the fast extension the peer serves or rejects each request: they stay in flight.
    if (!peer.fast) this.picker.releasePeer(peer.id)
    this.requests.refillAll()
  }

  onUnchoke(peer: Peer): void {
    peer.waitFrom(this.now())
    this.requests.fill(peer)
  }

  onReject(peer: Peer, piece: number, offset: number, length: number): void {
    this.requests.rejected(peer, piece, offset, length)
  }

  onAllowedFast(peer: Peer): void {
    if (peer.wire.peerChoking) this.requests.fill(peer)
  }

  /** Interest changes re-choose the upload slots at once. */
  readonly onInterested = (): void => this.rechoke()
  readonly onUninterested = (): void => this.rechoke()

  /** A block arrived: the pipeline judges it, the assembly keeps it, the pipeline asks for more. */
  onBlock(peer: Peer, piece: number, offset: number, data: Uint8Array): void {
    this.status.received(data.length)
    const res = this.requests.received(peer, piece, offset, data.length)
    if (!res.accepted) return
    this.status.accepted(peer.address, data.length)
    this.smartBan.sender(peer.id, peer.remoteId)
    peer.holdUnverified(data.length)
    this.assembly.add(piece, offset, data, peer.id, res.pieceComplete)
    this.requests.fill(peer)
  }

  onRequest(peer: Peer, piece: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void): void {
    this.uploads.request(peer, piece, offset, length, respond)
  }

  onClose(peer: Peer): void {
    if (!this.conns.remove(peer)) return
    this.picker.releasePeer(peer.id)
    if (peer.ready) this.picker.removeAvailability(peer.bits)
    if (this.closed) return
    // Its slot (if it had one) goes to someone else at once.
    this.rechoke()
    this.requests.refillAll()
    this.conns.dialMore()
  }

  private rechoke(): void {
    // With nothing to offer, unchoking only invites requests we must refuse.
    if (!this.accepting || this.picker.haveCount() === 0) return
    this.slots.rechoke(this.conns.values(), this.picker.isComplete())
  }

  // ------------------------------------------------------------------
  // verification

  /** A piece's hash check is over and its bytes are on disk. */
  private settled(piece: number, ok: boolean, attempt: PieceAttempt): void {
    for (const [id, bytes] of attempt.senders) this.conns.get(id)?.pieceChecked(bytes, ok)
    this.webSeeds?.settled(piece, ok)
    if (!ok) {
      this.status.discarded += this.picker.pieceSize(piece)
      return this.smartBan.failed(piece, attempt, () => this.requests.refillAll())
    }
    if (this.smartBan.suspected(piece)) attempt.data((data) => !this.closed && this.smartBan.passed(piece, data))
    this.picker.verified(piece)
    this.reading.verified(piece, () => attempt.take?.() ?? null)
    this.resume?.changed()
    this.conns.have(piece)
    if (this.picker.haveCount() === 1) this.rechoke()
    this.requests.refillAll()
    if (this.picker.isComplete() && !this.completeAnnounced) {
      this.completeAnnounced = true
      this.status.activity = 'seeding'
      void this.resume?.flush()
      this.discovery.completed()
      this.conns.completed(this.picker.hasAll())
      this.ctx.changed()
    }
  }

  // ------------------------------------------------------------------
  // periodic work and status

  /** Called by the client about once a second: timeouts, pipelines, interest, connections. */
  tick(): void {
    if (!this.accepting) return
    const now = this.now()
    for (const p of [...this.conns.values()]) {
      if (!p.ready) continue
      p.adapt()
      this.requests.checkStall(p, now)
      this.conns.closeIfIdle(p, now, this.ctx.peerIdleTimeout ?? PEER_IDLE_TIMEOUT)
    }
    this.reading.tick()
    for (const p of this.conns.values()) if (p.ready && this.picker.missingBlocks() > 0) this.requests.updateInterest(p)
    this.rechoke()
    this.conns.dialMore()
    if (!this.picker.isComplete() && this.conns.readyCount() === 0 && now - this.status.lastBlockAt > REANNOUNCE_WHEN_ALONE) this.discovery.update()
  }

  /** Peers and what each moved (tests use it to see who contributed). */
  peerInfo(): PeerInfo[] {
    return this.status.peerInfo(this.conns.values())
  }

  /** Accepted block bytes by peer address, since the torrent started. */
  contributed(): Record<string, number> {
    return this.status.contributed()
  }

  /** How the last start found existing data (diagnostics: `checked` = pieces hashed, not trusted from the resume record). */
  restoredFrom(): Restored {
    return { ...this.status.restored }
  }

  /** Addresses and peer ids banned from this torrent. */
  bannedPeers(): string[] {
    return this.book.banned()
  }

  /** Sets the priority of file `file` (index without pad files); a sentence when it cannot. */
  setFilePriority(file: number, priority: FilePriority): Promise<string | null> {
    return this.reading.setPriority(file, priority)
  }

  /** The torrent's readers (read streams over its files). */
  streams(): TorrentStreams {
    return this.reading.streams
  }

  /** The status dictionary, computed now. */
  stats(): TorrentStats {
    const [scrapes, trackers] = [this.discovery.scrapeStats(), this.discovery.trackerStats()]
    return this.status.stats(this.conns.values(), { ...this.reading.fileStats(), ...(this.webSeeds && { webSeeds: this.webSeeds.stats() }), ...(trackers && { trackers }), ...(scrapes && { scrapes }) })
  }
}
