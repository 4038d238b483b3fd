/**
 * Which block to ask which peer for next. Pure bookkeeping: no IO, no timers
 * (the caller decides when a request timed out and calls
 * {@link PiecePicker.cancelled}), randomness injected: every decision replays.
 *
 * Policy, in order: pieces readers need next, pieces in progress (this peer's
 * first), then the rarest the peer has (among equally rare, those it suggested
 * first, download/suggested.ts, then random; high before normal before low
 * priority; never a skipped file's: download/wanted.ts). Outside endgame a
 * block is outstanding at one peer at most; once every missing block is
 * requested (endgame), a block may be asked of up to `endgamePeers` peers.
 *
 * Cost: fresh pieces sit in buckets by availability (O(1) moves): `addHave` is
 * O(1), `add/removeAvailability` O(pieces in the bitfield), `pick` O(pieces in
 * progress with a free block + pieces the peer has requests in + bucket
 * entries looked at until enough of the peer's are found); about 1 µs per
 * block for one seeder refilling a 256-deep pipeline over 4,096 pieces.
 * Against a peer with few pieces it can degrade to a scan.
 *
 * @module
 */
import type { BlockRequest } from '../contracts.ts'
import { Bitfield } from '../wire/bitfield.ts'
import { RarityBuckets } from './rarity.ts'
import { Outstanding } from './outstanding.ts'
import { PieceGeometry, type GeometryOptions } from './geometry.ts'
import { WantedPieces } from './wanted.ts'
import { suggestedFirst } from './suggested.ts'

/** What the picker needs to know of a peer. */
export interface PeerView {
  /** Stable id of the connection, as passed to received()/releasePeer(). */
  readonly id: string
  /** Whether the peer announced `piece` (bitfield or have). */
  has(piece: number): boolean
  /** Pieces it suggested (BEP 6), oldest first: preferred among equally rare ones. */
  readonly suggested?: readonly number[]
}

/** Construction options of {@link PiecePicker}. */
export interface PiecePickerOptions extends GeometryOptions {
  /** Random source in [0, 1) for tie-breaks; default Math.random. */
  readonly rng?: () => number
  /** In endgame, the most peers one block may be requested from at once; default 3 (minimum 1). */
  readonly endgamePeers?: number
}

/** Outcome of {@link PiecePicker.received}. */
export interface ReceivedResult {
  /** False for an unrequested, duplicate, late or malformed block: the caller discards it. */
  readonly accepted: boolean
  /** Every block of the piece is now in: hash it, then call verified() or failed(). */
  readonly pieceComplete: boolean
  /** Other peers that still had this block requested (endgame): send them a cancel. */
  readonly cancelPeers: string[]
}

/** Block bookkeeping of a piece that is in progress or awaiting its hash check. */
interface PieceState {
  readonly blocks: number
  readonly received: Uint8Array
  /** Peers with the block outstanding; undefined or empty when none. */
  readonly requesters: (string[] | undefined)[]
  receivedCount: number
  /** Blocks neither received nor requested from anyone. */
  free: number
}

const REJECT: ReceivedResult = Object.freeze({ accepted: false, pieceComplete: false, cancelPeers: [] })

/**
 * Piece and block selection for one torrent.
 *
 * @example
 * ```ts
 * const picker = new PiecePicker({ pieceCount: 4, pieceLength: 32768, length: 100000 })
 * const peerBits = new Bitfield(4); peerBits.set(2)
 * picker.addAvailability(peerBits)
 * const reqs = picker.pick({ id: 'a', has: (i) => peerBits.get(i) }, 8)
 * // -> [{ piece: 2, offset: 0, length: 16384 }, { piece: 2, offset: 16384, length: 16384 }]
 * for (const r of reqs) if (picker.received('a', r).pieceComplete) picker.verified(r.piece) // after the hash matched
 * ```
 */
export class PiecePicker extends PieceGeometry {
  private readonly rng: () => number
  private readonly endgamePeers: number

  private readonly haveBits: Bitfield
  /** Swarm availability, and the pieces neither verified nor in progress by availability. */
  private readonly rarity: RarityBuckets
  /** Pieces in progress or awaiting their hash check. */
  private readonly active = new Map<number, PieceState>()
  /** Active pieces with at least one free block. */
  private readonly open = new Set<number>()
  /** Outstanding requests per peer. */
  private readonly outstanding = new Outstanding()
  /**
   * Pieces that only one peer may download (after a failure shared by several
   * senders; see {@link PiecePicker.restrict}), by piece: that peer's id.
   */
  private readonly restricted = new Map<number, string>()
  /** Blocks not received in unverified pieces. */
  private missing = 0
  /** Blocks not received and not requested, in unverified pieces. */
  private freeTotal = 0
  /** Ranks from the file selection (setRank), the pieces readers need next (setCritical), what is wanted (wants). */
  readonly wanted: WantedPieces

  constructor(opts: PiecePickerOptions) {
    super(opts)
    const { pieceCount } = opts
    this.rng = opts.rng ?? Math.random
    this.endgamePeers = Math.max(1, Math.floor(opts.endgamePeers ?? 3))
    this.haveBits = new Bitfield(pieceCount)
    this.rarity = new RarityBuckets(pieceCount)
    for (let p = 0; p < pieceCount; p++) {
      this.rarity.insert(p)
      this.missing += this.blocksOf(p)
    }
    this.freeTotal = this.missing
    const has = (p: number): boolean => this.haveBits.get(p)
    this.wanted = new WantedPieces(pieceCount, { have: has, active: (p) => this.active.has(p), enter: (p) => this.moveFresh(p, true), leave: (p) => this.moveFresh(p, false) })
  }

  // ---- what we have ----

  /** Whether `piece` is verified. */
  have(piece: number): boolean {
    return this.haveBits.get(piece)
  }

  /** Number of verified pieces. */
  haveCount(): number {
    return this.haveBits.count()
  }

  /** A copy of the verified pieces. */
  haveBitfield(): Bitfield {
    return this.haveBits.clone()
  }

  /** Every wanted piece verified (every piece, without a file selection). */
  isComplete(): boolean {
    return this.wanted.complete()
  }
  /** Every piece verified, wanted or not (a seed). */
  hasAll(): boolean {
    return this.haveBits.all()
  }

  /** Blocks not yet received in pieces not yet verified. */
  missingBlocks(): number {
    return this.missing
  }

  /** True when every missing block is requested from some peer (and some are missing). */
  inEndgame(): boolean {
    return this.freeTotal === 0 && this.missing > 0
  }

  /**
   * Marks exactly the pieces of `bits` as verified (resume or check result);
   * pieces not in `bits` that were verified become missing again.
   */
  setHave(bits: Bitfield): void {
    this.checkLength(bits)
    for (let p = 0; p < this.pieceCount; p++) {
      const want = bits.get(p)
      if (want && !this.haveBits.get(p)) this.verified(p)
      else if (!want && this.haveBits.get(p)) this.failed(p)
    }
  }

  // ---- swarm availability ----

  /** A peer's bitfield joins the swarm count. */
  addAvailability(bits: Bitfield): void {
    this.checkLength(bits)
    for (const p of bits.setIndices()) this.rarity.change(p, 1)
  }

  /** A peer's bitfield leaves the swarm count (pass the peer's current bitfield). */
  removeAvailability(bits: Bitfield): void {
    this.checkLength(bits)
    for (const p of bits.setIndices()) this.rarity.change(p, -1)
  }

  /** A peer announced it has `piece`. */
  addHave(piece: number): void {
    if (this.inRange(piece)) this.rarity.change(piece, 1)
  }

  /** How many connected peers have `piece` (as told through add/removeAvailability and addHave). */
  availability(piece: number): number {
    return this.inRange(piece) ? this.rarity.of(piece) : 0
  }

  // ---- requests ----

  /**
   * Up to `max` new requests for `peer`, never a block already requested
   * from it and never one of a piece it lacks; outside endgame never a block
   * requested from anyone. The returned requests count as outstanding.
   */
  pick(peer: PeerView, max: number): BlockRequest[] {
    const out: BlockRequest[] = []
    if (!(max >= 1) || this.missing === 0) return out
    const mine = this.outstanding.of(peer.id)

    // 0. what readers need next, in deadline order (download/deadlines.ts)
    for (const p of this.wanted.critical()) {
      if (this.haveBits.get(p) || !peer.has(p) || this.barred(p, peer.id)) continue
      if (!this.active.has(p)) this.activate(p)
      if (this.open.has(p) && this.takeFree(p, peer.id, mine, max, out)) return out
    }

    // 1. pieces in progress: this peer's own first, then the others
    if (this.open.size > 0) {
      const own = this.outstanding.piecesOf(peer.id)
      // (taking blocks only updates counts of keys already in `own`: safe to iterate)
      // (peer.has: a peer that chokes us with the fast extension on serves only its allowed-fast pieces)
      if (own !== undefined) for (const p of own.keys()) if (this.open.has(p) && peer.has(p) && !this.barred(p, peer.id) && this.takeFree(p, peer.id, mine, max, out)) return out
      for (const p of this.open) {
        if (!peer.has(p) || this.barred(p, peer.id)) continue
        if (this.takeFree(p, peer.id, mine, max, out)) return out
      }
    }

    // 2. fresh pieces, rarest first
    if (this.freeTotal > 0) {
      const chosen = this.rarestFresh(peer, max - out.length)
      for (const p of chosen) {
        this.activate(p)
        if (this.takeFree(p, peer.id, mine, max, out)) return out
      }
    }

    // 3. endgame: duplicate blocks already requested elsewhere, least-requested first
    if (this.freeTotal === 0 && out.length < max) this.takeEndgame(peer, mine, max, out)
    return out
  }

  /**
   * Claims up to `maxPieces` consecutive fresh pieces (none had, asked for,
   * restricted or skipped), lowest first, every block outstanding with
   * `peerId`: a web seed fetches whole pieces in long ranges. Null when none
   * is left. Release with cancelled() per block or releasePeer().
   *
   * @example
   * ```ts
   * const run = picker.claimRun('web:http://h/', 16) // { first: 0, count: 16 }
   * ```
   */
  claimRun(peerId: string, maxPieces: number): { first: number; count: number } | null {
    if (this.freeTotal === 0 || !(maxPieces >= 1)) return null
    const fresh = (p: number): boolean => !this.haveBits.get(p) && !this.active.has(p) && !this.restricted.has(p) && !this.wanted.isParked(p)
    let first = 0
    while (first < this.pieceCount && !fresh(first)) first++
    if (first >= this.pieceCount) return null
    const mine = this.outstanding.of(peerId)
    const out: BlockRequest[] = []
    let count = 0
    while (count < maxPieces && first + count < this.pieceCount && fresh(first + count)) {
      this.activate(first + count)
      this.takeFree(first + count, peerId, mine, Number.POSITIVE_INFINITY, out)
      count++
    }
    return { first, count }
  }

  /**
   * A block arrived from `peerId`. Accepted only when it was requested from
   * that peer, is still missing, and has the exact offset and length of a block.
   */
  received(peerId: string, req: BlockRequest): ReceivedResult {
    const loc = this.locate(req)
    if (loc === null) return REJECT
    const { piece, block } = loc
    const st = this.active.get(piece)
    if (st === undefined || st.received[block] === 1) return REJECT
    const reqs = st.requesters[block]
    if (reqs === undefined || !reqs.includes(peerId)) return REJECT
    const key = this.key(piece, block)
    const cancelPeers: string[] = []
    for (const id of reqs) {
      this.outstanding.unlink(id, key, piece)
      if (id !== peerId) cancelPeers.push(id)
    }
    st.requesters[block] = undefined
    st.received[block] = 1
    st.receivedCount++
    this.missing--
    return { accepted: true, pieceComplete: st.receivedCount === st.blocks, cancelPeers }
  }

  /** We gave up on a request to `peerId` (timeout, choke, cancel): the block goes back to the pool. */
  cancelled(peerId: string, req: BlockRequest): void {
    const loc = this.locate(req)
    if (loc === null) return
    if (!this.outstanding.unlink(peerId, this.key(loc.piece, loc.block), loc.piece)) return
    this.dropRequester(loc.piece, loc.block, peerId)
  }

  /**
   * The peer is gone, choked us or timed out: all its outstanding requests go
   * back to the pool, and the pieces restricted to it are open to all again
   * (it no longer serves us, and a restricted piece must not wait on it).
   */
  releasePeer(peerId: string): void {
    if (this.restricted.size > 0) for (const [p, id] of this.restricted) if (id === peerId) this.restricted.delete(p)
    const mine = this.outstanding.release(peerId)
    if (mine === undefined) return
    for (const [key, r] of mine) this.dropRequester(r.piece, key - r.piece * this.maxBlocks, peerId)
  }

  /** Outstanding requests of `peerId`. */
  requestedBy(peerId: string): BlockRequest[] {
    return this.outstanding.requestedBy(peerId)
  }

  /**
   * From now on only `peerId` is given blocks of `piece` (libtorrent's
   * re-download of a failed piece from one peer), so the next check names the
   * liar: that sender (it fails alone) or, once the piece passes, whoever's
   * earlier block differs. Lasts until the piece is verified or fails, or
   * releasePeer(peerId); others keep requests they hold. Ignored for a
   * verified piece or one out of range.
   *
   * @example
   * ```ts
   * picker.failed(7); picker.restrict(7, 'b') // only b may fetch piece 7 now
   * ```
   */
  restrict(piece: number, peerId: string): void {
    if (!this.inRange(piece) || this.haveBits.get(piece)) return
    this.restricted.set(piece, peerId)
  }

  /** The peer `piece` is restricted to, if any. */
  restrictedTo(piece: number): string | undefined {
    return this.restricted.get(piece)
  }

  /** The piece's hash matched: it counts as had. */
  verified(piece: number): void {
    if (!this.inRange(piece) || this.haveBits.get(piece)) return
    this.restricted.delete(piece)
    const st = this.active.get(piece)
    if (st !== undefined) {
      this.forgetRequests(piece, st)
      this.missing -= st.blocks - st.receivedCount
      this.freeTotal -= st.free
      this.active.delete(piece)
      this.open.delete(piece)
    } else if (!this.wanted.isParked(piece)) this.moveFresh(piece, false)
    this.wanted.verified(piece)
    this.haveBits.set(piece)
  }

  /** The piece's hash failed (or its data was lost): every block of it is missing again. */
  failed(piece: number): void {
    if (!this.inRange(piece)) return
    this.restricted.delete(piece)
    const blocks = this.blocksOf(piece)
    if (this.haveBits.get(piece)) {
      this.haveBits.set(piece, false)
      if (!this.wanted.lost(piece, true)) this.moveFresh(piece, true)
      return
    }
    const st = this.active.get(piece)
    if (st === undefined) return
    this.forgetRequests(piece, st)
    this.missing += st.receivedCount
    this.freeTotal += blocks - st.free
    this.active.delete(piece)
    this.open.delete(piece)
    this.rarity.insert(piece)
    if (this.wanted.lost(piece, false)) this.moveFresh(piece, false)
  }

  // ---- internals ----

  /** `p` joins (`into`) or leaves (verified, parked) the fresh pieces, its blocks counted as missing or not. */
  private moveFresh(p: number, into: boolean): void {
    const blocks = into ? this.blocksOf(p) : -this.blocksOf(p)
    this.missing += blocks
    this.freeTotal += blocks
    ;(into ? this.rarity.insert : this.rarity.remove).call(this.rarity, p)
  }

  private checkLength(bits: Bitfield): void {
    if (bits.length !== this.pieceCount) throw new RangeError(`bitfield of ${bits.length} pieces, torrent has ${this.pieceCount}`)
  }

  /** `piece` is restricted to a peer other than `peerId`. */
  private barred(piece: number, peerId: string): boolean {
    if (this.restricted.size === 0) return false
    const only = this.restricted.get(piece)
    return only !== undefined && only !== peerId
  }

  /** Takes free blocks of active piece `p` for the peer until `out` holds `max`; true when full. */
  private takeFree(p: number, peerId: string, mine: Map<number, BlockRequest>, max: number, out: BlockRequest[]): boolean {
    const st = this.active.get(p)!
    for (let b = 0; b < st.blocks && st.free > 0; b++) {
      if (st.received[b] === 1) continue
      const reqs = st.requesters[b]
      if (reqs !== undefined && reqs.length > 0) continue
      st.requesters[b] = [peerId]
      st.free--
      this.freeTotal--
      const r = this.blockRequest(p, b)
      this.outstanding.link(peerId, mine, this.key(p, b), r)
      out.push(r)
      if (out.length >= max) break
    }
    if (st.free === 0) this.open.delete(p)
    return out.length >= max
  }

  /** Fresh pieces the peer has, rarest first (random start within a bucket), enough for `want` blocks. */
  private rarestFresh(peer: PeerView, want: number): number[] {
    const chosen: number[] = []
    let blocks = 0
    // with a selection of several priorities: high first, then normal, then low
    for (const rank of this.wanted.mixed() ? [3, 2, 1] : [-1]) {
      for (const p of suggestedFirst(this.rarity.rarestFirst(this.rng), peer.suggested ?? [], (q) => this.rarity.of(q), (q) => this.rarity.has(q))) {
        if ((rank >= 0 && this.wanted.rank(p) !== rank) || !peer.has(p) || this.barred(p, peer.id)) continue
        chosen.push(p)
        blocks += this.blocksOf(p)
        if (blocks >= want) return chosen
      }
    }
    return chosen
  }

  private takeEndgame(peer: PeerView, mine: Map<number, BlockRequest>, max: number, out: BlockRequest[]): void {
    for (let level = 1; level < this.endgamePeers; level++) {
      for (const [p, st] of this.active) {
        if (st.receivedCount === st.blocks || !peer.has(p) || this.barred(p, peer.id)) continue
        for (let b = 0; b < st.blocks; b++) {
          if (st.received[b] === 1) continue
          const reqs = st.requesters[b]
          if (reqs === undefined || reqs.length !== level || reqs.includes(peer.id)) continue
          reqs.push(peer.id)
          const r = this.blockRequest(p, b)
          this.outstanding.link(peer.id, mine, this.key(p, b), r)
          out.push(r)
          if (out.length >= max) return
        }
      }
    }
  }

  private activate(p: number): void {
    this.rarity.remove(p)
    const blocks = this.blocksOf(p)
    this.active.set(p, {
      blocks,
      received: new Uint8Array(blocks),
      requesters: new Array(blocks).fill(undefined),
      receivedCount: 0,
      free: blocks,
    })
    this.open.add(p)
  }

  private dropRequester(piece: number, block: number, peerId: string): void {
    const st = this.active.get(piece)
    if (st === undefined || st.received[block] === 1) return
    const reqs = st.requesters[block]
    if (reqs === undefined) return
    const i = reqs.indexOf(peerId)
    if (i < 0) return
    reqs.splice(i, 1)
    if (reqs.length > 0) return
    st.requesters[block] = undefined
    st.free++
    this.freeTotal++
    if (st.receivedCount === 0 && st.free === st.blocks) {
      // nothing left in progress: back among the fresh pieces
      this.active.delete(piece)
      this.open.delete(piece)
      this.rarity.insert(piece)
    } else {
      this.open.add(piece)
    }
  }

  /** Removes every outstanding request for blocks of `piece` from the peers' maps. */
  private forgetRequests(piece: number, st: PieceState): void {
    for (let b = 0; b < st.blocks; b++) {
      const reqs = st.requesters[b]
      if (reqs === undefined) continue
      const key = this.key(piece, b)
      for (const id of reqs) this.outstanding.unlink(id, key, piece)
      st.requesters[b] = undefined
    }
  }
}
