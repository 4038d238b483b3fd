/**
 * The request pipeline: who is asked for which block next, and when.
 *
 * Each peer's pipeline is topped up (`fill`) whenever something may have
 * made room: a block arrived, the peer unchoked us or announced a piece, a
 * piece settled, download budget came back. The picker chooses the blocks
 * (download/picker.ts); this module decides how many: the peer's depth
 * (adapted to its rate), a small budget of unverified data for a peer that
 * has not yet sent a good piece, the download limit, and the assembly's
 * back-pressure. It also withdraws the requests of a peer that stalls.
 *
 * @internal
 * @module
 */
import type { BlockRequest } from '../contracts.ts'
import type { PiecePicker, ReceivedResult } from './picker.ts'
import { UNRANKED, aheadBudget, readQueueCap, readQueueMoot, reorder, type AheadOptions } from '../policy/read-queue.ts'

/** Refused blocks (never requested, or malformed) a peer may send before it is closed. */
export const MAX_UNREQUESTED = 8

/** Request timeouts in a row after which a peer is closed. */
export const MAX_TIMEOUTS = 3

/** What the pipeline needs of a peer. */
export interface RequestPeer {
  /** The picker's peer id. */
  readonly id: string
  readonly ready: boolean
  readonly closed: boolean
  readonly wire: {
    readonly peerChoking: boolean
    readonly amInterested: boolean
    interested(): void
    uninterested(): void
  }
  has(piece: number): boolean
  /** We may ask for `piece` now (it unchokes us, or the piece is in its BEP 6 allowed-fast set). */
  mayRequest?(piece: number): boolean
  /** Pieces it suggested (BEP 6 Suggest Piece), oldest first. */
  readonly suggested?: readonly number[]
  /** Requests outstanding with it. */
  readonly inflight: number
  /** Target number of outstanding requests. */
  readonly depth: number
  /** A piece it helped with passed its hash check (and none failed since). */
  readonly trusted: boolean
  /** Accepted bytes from it in pieces not yet verified. */
  readonly unverified: number
  /** Last time a requested block arrived, or we (re)started waiting (ms). */
  readonly lastBlockAt: number
  /** Its download rate (bytes/s), when measured: sizes the queue kept while readers wait (policy/read-queue.ts). */
  readonly down?: { rate(): number }
  requestMany(reqs: readonly BlockRequest[]): void
  cancel(piece: number, offset: number, length: number): void
  /** A refused block; true when the peer sent more than `limit` we never asked for. */
  refused(limit: number): boolean
  /** An accepted block of `bytes`. */
  delivered(bytes: number): void
  /** Its requests timed out at `now`: the pipeline shrinks; returns the timeouts in a row. */
  timedOut(now: number): number
  close(reason: string): void
}

/** What the pipeline needs from its torrent. */
export interface RequestPipelineOptions {
  readonly picker: PiecePicker
  /** Download budget (the client's and the torrent's buckets). */
  readonly throttle: { available(now: number): number; delay(bytes: number, now: number): number; charge(bytes: number, now: number): void }
  /** Complete pieces wait for disk or hasher beyond the memory bound: ask for nothing. */
  full(): boolean
  /** Connected peers, and one by id. */
  peers(): Iterable<RequestPeer>
  peer(id: string): RequestPeer | undefined
  /** A peer that delivers nothing for this long has its requests re-issued elsewhere (ms). */
  readonly requestTimeout: number
  readonly now: () => number
  /** The torrent's download rate (bytes/s, all peers): spaces the readers' deadlines. */
  readonly rate?: () => number
  closed(): boolean
  /** A block was refused (unrequested, duplicate, wrong size or place), before the peer is judged. */
  refused(peer: RequestPeer, bytes: number): void
}

/**
 * One torrent's request pipelines.
 *
 * @example
 * ```ts
 * const requests = new RequestPipeline({ picker, throttle, full: () => asm.full(), peers, peer, requestTimeout: 30000, now: Date.now, closed, refused })
 * // PeerHandler.onBlock:
 * const res = requests.received(peer, piece, offset, data.length)
 * if (res.accepted) asm.add(piece, offset, data, peer.id, res.pieceComplete)
 * ```
 */
export class RequestPipeline {
  private refillTimer: NodeJS.Timeout | null = null
  /** Ranks of the latest critical list. */
  private ranked: { critical: readonly number[]; ranks: Map<number, number> } | null = null
  /** The ranks each peer's queue was last re-ordered by. */
  private readonly looked = new WeakMap<RequestPeer, Map<number, number>>()

  constructor(private readonly o: RequestPipelineOptions) {}

  /**
   * A block arrived. Accepted: the peer is credited, other peers holding the
   * same request (endgame) get a cancel. Refused: the peer is closed past
   * MAX_UNREQUESTED; late answers to withdrawn requests are forgiven.
   * The caller keeps an accepted block's bytes, then calls {@link fill}.
   */
  received(peer: RequestPeer, piece: number, offset: number, length: number): ReceivedResult {
    const { picker } = this.o
    const res = piece < picker.pieceCount ? picker.received(peer.id, { piece, offset, length }) : null
    if (!res?.accepted) {
      this.o.refused(peer, length)
      if (peer.refused(MAX_UNREQUESTED)) peer.close('sent blocks we did not request')
      else this.fill(peer)
      return res ?? { accepted: false, pieceComplete: false, cancelPeers: [] }
    }
    peer.delivered(length)
    for (const other of res.cancelPeers) this.o.peer(other)?.cancel(piece, offset, length)
    return res
  }

  /** Say interested or not, from what the peer has that we lack; top up when interested. */
  updateInterest(peer: RequestPeer): void {
    if (!peer.ready || peer.closed) return
    const { picker } = this.o
    let wants = false
    if (picker.missingBlocks() > 0) {
      for (let i = 0; i < picker.pieceCount; i++) {
        if (peer.has(i) && picker.wanted.wants(i)) {
          wants = true
          break
        }
      }
    }
    if (wants && !peer.wire.amInterested) peer.wire.interested()
    else if (!wants && peer.wire.amInterested) peer.wire.uninterested()
    if (wants) this.fill(peer)
  }

  /** The peer announced `piece`: become interested if we lack it, and ask. */
  announced(peer: RequestPeer, piece: number): void {
    if (!peer.wire.amInterested && this.o.picker.wanted.wants(piece)) {
      peer.wire.interested()
      this.fill(peer)
    } else if (peer.wire.amInterested) this.fill(peer)
  }

  /** Top up a peer's pipeline. */
  fill(peer: RequestPeer): void {
    if (this.o.closed() || !peer.ready || peer.closed || !peer.wire.amInterested) return
    // Choked: only the pieces it allows while choking (BEP 6 allowed fast), if any.
    const choked = peer.wire.peerChoking
    if (choked && peer.mayRequest === undefined) return
    if (this.o.full()) return
    const block = this.o.picker.blockSize
    const inflight = peer.inflight
    // An untrusted peer may hold two pieces of unverified data: a liar costs little before its ban.
    const unverifiedRoom = peer.trusted ? Infinity : Math.floor((2 * this.o.picker.pieceLength - peer.unverified - inflight * block) / block)
    if (unverifiedRoom <= 0) return
    let room = Math.min(peer.depth - inflight, unverifiedRoom)
    // Download limit: gate the requests (what arrives is what we asked for),
    // charged when asked; a request lost to a choke errs under the limit.
    const now = this.o.now()
    let afford = Math.floor(this.o.throttle.available(now) / block)
    const ranks = this.urgentRanks(peer)
    const ahead = ranks === null ? null : this.ahead(peer) // built once per fill, only while readers wait
    if (ranks !== null && ahead !== null && !readQueueMoot(peer.depth, ahead)) {
      // Readers wait on pieces this peer has (policy/read-queue.ts): their blocks
      // are asked first, less urgent requests queued ahead of them beyond their
      // deadline are withdrawn (BEP 3 cancel) and asked again behind them, and
      // the queue is kept to about a second of the peer's data.
      const cap = readQueueCap(peer.down?.rate() ?? 0, block, peer.depth)
      const asked = this.askUrgent(peer, ranks, ahead, cap, Math.min(unverifiedRoom, afford), choked)
      afford -= asked
      room = Math.min(peer.depth - peer.inflight, unverifiedRoom - asked, cap - peer.inflight)
      if (room <= 0) return
      // the rest in batches where a second of data is many blocks (per-block writes cost CPU)
      if (room < Math.min(16, cap / 4) && peer.inflight > 0) return
    } else if (room < Math.max(16, peer.depth / 4) && inflight > 0) return // ask in batches: one pick (and one socket write) per several blocks
    if (afford <= 0) {
      this.refillLater(this.o.throttle.delay(block, now))
      return
    }
    const view = choked ? { id: peer.id, has: (p: number) => peer.has(p) && peer.mayRequest!(p), ...(peer.suggested && { suggested: peer.suggested }) } : peer
    const reqs = this.o.picker.pick(view, Math.min(room, afford))
    if (reqs.length === 0) return
    this.charge(reqs, now)
    peer.requestMany(reqs)
  }

  /** Rank of each piece readers need next (its place in the deadline order), when one is still missing and this peer has it; else null. */
  private urgentRanks(peer: RequestPeer): Map<number, number> | null {
    const { wanted } = this.o.picker
    const critical = wanted.critical()
    let urgent = false
    for (const p of critical) {
      if (peer.has(p) && wanted.wants(p)) {
        urgent = true
        break
      }
    }
    if (!urgent) return null
    // the same list (WantedPieces hands out a new one when it changes): the same ranks
    if (this.ranked?.critical !== critical) {
      const ranks = new Map<number, number>()
      critical.forEach((p, i) => ranks.set(p, i))
      this.ranked = { critical, ranks }
    }
    return this.ranked.ranks
  }

  /**
   * Asks `peer` for up to `max` blocks of the pieces readers need (at least a
   * piece's worth beside the readers' requests it holds, within `cap` in
   * all), withdrawing what policy/read-queue.ts says is queued ahead of them
   * for too long or past the cap. Returns the blocks asked.
   */
  private askUrgent(peer: RequestPeer, ranks: Map<number, number>, ahead: AheadOptions, cap: number, max: number, choked: boolean): number {
    const { picker } = this.o
    const perPiece = ahead.blocksPerPiece
    // the readers' list changed (a seek, a piece in or out of a window): at least a piece's
    // worth at once, whatever the queue holds, since what stands in its way is withdrawn
    // below; else in batches, as for any request (per-block writes cost CPU)
    const changed = this.looked.get(peer) !== ranks
    this.looked.set(peer, ranks)
    const room = cap - peer.inflight
    const n = Math.min(max, changed ? Math.max(perPiece, room) : room >= Math.min(16, cap / 4) || peer.inflight === 0 ? room : 0)
    const has = (p: number): boolean => ranks.has(p) && peer.has(p) && (!choked || peer.mayRequest!(p))
    const reqs = n > 0 ? picker.pick({ id: peer.id, has }, n) : []
    // re-ordered when the list changed or the queue is past the cap, unless within the cap and the least budget
    const total = peer.inflight + reqs.length
    if ((changed || total > cap) && total > Math.min(cap, aheadBudget(0, ahead))) {
      // the peer's requests, oldest first; the picks just made are the newest entries
      const queued = picker.requestedBy(peer.id)
      const ranksOf = queued.map((r) => ranks.get(r.piece) ?? UNRANKED)
      // (the list unchanged, the queue past the cap: only the cap to keep, as budgets were met when it was asked)
      const withdrawn = reorder(ranksOf, reqs.length, { cap, budget: changed ? (rank) => aheadBudget(rank, ahead) : () => Infinity })
      for (const i of withdrawn) {
        const r = queued[i]!
        picker.cancelled(peer.id, r)
        peer.cancel(r.piece, r.offset, r.length)
      }
    }
    if (reqs.length === 0) return 0
    this.charge(reqs, this.o.now())
    peer.requestMany(reqs)
    return reqs.length
  }

  /** What the read-queue rules need to know of `peer` (policy/read-queue.ts). */
  private ahead(peer: RequestPeer): AheadOptions {
    const { picker } = this.o
    return { blocksPerPiece: Math.ceil(picker.pieceLength / picker.blockSize), peerRate: peer.down?.rate() ?? 0, torrentRate: this.o.rate?.() ?? 0, blockSize: picker.blockSize }
  }

  /** Charges the download budget for `reqs`. */
  private charge(reqs: readonly BlockRequest[], now: number): void {
    let bytes = 0
    for (const r of reqs) bytes += r.length
    this.o.throttle.charge(bytes, now)
  }

  /**
   * The peer rejected a request of ours (BEP 6): if it was outstanding, the
   * block goes back to the pool and every pipeline is topped up at once, so
   * another peer is asked without waiting for a timeout. A stray reject is ignored.
   */
  rejected(peer: RequestPeer & { rejected(): void }, piece: number, offset: number, length: number): void {
    const { picker } = this.o
    if (!picker.requestedBy(peer.id).some((r) => r.piece === piece && r.offset === offset && r.length === length)) return
    picker.cancelled(peer.id, { piece, offset, length })
    peer.rejected()
    // Others first: the rejecting peer would take the block straight back.
    for (const p of this.o.peers()) if (p !== peer) this.fill(p)
  }

  /** Top up every pipeline. */
  refillAll(): void {
    for (const p of this.o.peers()) this.fill(p)
  }

  /** Stalled (nothing for `requestTimeout`): hand its blocks to others, shrink what it may hold, close it after MAX_TIMEOUTS. */
  checkStall(peer: RequestPeer, now: number): void {
    if (peer.inflight === 0 || now - peer.lastBlockAt <= this.o.requestTimeout) return
    for (const r of this.o.picker.requestedBy(peer.id)) peer.cancel(r.piece, r.offset, r.length)
    this.o.picker.releasePeer(peer.id)
    if (peer.timedOut(now) >= MAX_TIMEOUTS) peer.close('too many request timeouts')
  }

  /** Stop the refill timer. */
  clear(): void {
    if (this.refillTimer !== null) clearTimeout(this.refillTimer)
    this.refillTimer = null
  }

  /** Refill every pipeline in `ms` (download budget): one timer per torrent. */
  private refillLater(ms: number): void {
    if (this.refillTimer !== null || this.o.closed()) return
    this.refillTimer = setTimeout(() => {
      this.refillTimer = null
      if (!this.o.closed()) this.refillAll()
    }, Math.max(1, ms))
  }
}
