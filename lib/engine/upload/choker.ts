/**
 * The choking algorithm of BEP 3 and the mainline client, as a pure object:
 * no timers, no sockets; the caller passes the time and a snapshot of its
 * peers, and applies the returned changes to the wires.
 *
 * - A few regular upload slots go to the interested peers that serve us best
 *   (their rate to us) while downloading, or that take our data fastest (our
 *   rate to them) while seeding. They are re-chosen every `rechokeMs`; in
 *   between, the set is kept stable (a peer needs time to prove itself) and
 *   only free slots are filled.
 * - One more slot, the optimistic unchoke, rotates every `optimisticMs` among
 *   the other interested peers, so newcomers get a chance to show their rate.
 *   Peers connected in the last `newPeerMs` are three times as likely to win
 *   it: they have nothing to trade yet.
 * - Uninterested peers are never unchoked, and a peer that loses interest is
 *   choked (its slot goes to someone who wants it). Mainline instead leaves
 *   uninterested peers unchoked outside the slot count so they may start at
 *   once when they turn interested; we get the same latency by calling
 *   {@link Choker.rechoke} on every `interested` message (a free slot is
 *   filled then), and the count of unchoked peers stays a hard bound.
 * - While downloading, snubbed peers (unchoked us, then sent nothing for a
 *   long while) rank below every other interested peer, whatever their
 *   rate: they get a regular slot only when nobody else wants it (slots are
 *   never left empty while someone interested waits, as in mainline).
 *
 * @module
 */

/** What the choker needs to know about one connected, handshaken peer. */
export interface ChokePeerView {
  /** Stable per connection (the engine uses the peer's address). */
  readonly id: string
  /** The peer wants data from us. */
  readonly interested: boolean
  /** Bytes/s the peer sends us (the downloading criterion). */
  readonly downRateFromPeer: number
  /** Bytes/s we send the peer (the seeding criterion). */
  readonly upRateToPeer: number
  /** The peer unchoked us but has sent nothing for a long while. */
  readonly snubbed?: boolean
  /** When the connection was made (same clock as `now`). */
  readonly connectedAt: number
  /** We are choking the peer right now (the wire's state). */
  readonly amChoking: boolean
}

/** Options of a {@link Choker}. */
export interface ChokerOptions {
  /** Regular upload slots (besides the optimistic one); default 4. */
  readonly slots?: number
  /** Period of the full re-choice of regular slots (ms); default 10000. */
  readonly rechokeMs?: number
  /** Period of the optimistic unchoke's rotation (ms); default 30000. */
  readonly optimisticMs?: number
  /** A peer connected for less than this is "new" (3x optimistic weight) (ms); default 60000. */
  readonly newPeerMs?: number
  /** Uniform random numbers in [0, 1); default Math.random. Ties and the optimistic pick use it. */
  readonly rng?: () => number
}

/** Wire messages to send: ids to unchoke, ids to choke. Only changes. */
export interface ChokeDecision {
  readonly unchoke: string[]
  readonly choke: string[]
}

/** Weight of a new peer in the optimistic draw (BEP 3 / mainline: three times as likely). */
const NEW_PEER_WEIGHT = 3

const rateOf = (r: number): number => (Number.isFinite(r) && r > 0 ? r : 0)

/**
 * Decides which peers we upload to. Keep one per torrent and call
 * {@link Choker.rechoke} about once a second and whenever a peer connects,
 * leaves, or changes its interest.
 *
 * @example
 * ```ts
 * const choker = new Choker({ slots: 4 })
 * const { unchoke, choke } = choker.rechoke(Date.now(), [
 *   { id: 'a', interested: true, downRateFromPeer: 5e5, upRateToPeer: 0, connectedAt: 0, amChoking: true },
 *   { id: 'b', interested: false, downRateFromPeer: 0, upRateToPeer: 0, connectedAt: 0, amChoking: false }
 * ], false)
 * // unchoke: ['a'], choke: ['b']
 * ```
 */
export class Choker {
  readonly slots: number
  readonly rechokeMs: number
  readonly optimisticMs: number
  readonly newPeerMs: number
  private readonly rng: () => number
  private regular = new Set<string>()
  private optimistic: string | null = null
  private lastFull = -Infinity
  private lastOptimistic = -Infinity
  private lastSeeding: boolean | null = null

  /** @throws RangeError on a negative or fractional slot count or a non-positive period. */
  constructor(opts: ChokerOptions = {}) {
    const slots = opts.slots ?? 4
    if (!Number.isInteger(slots) || slots < 0) throw new RangeError(`slots must be a whole number >= 0, got ${slots}`)
    const period = (name: string, v: number): number => {
      if (!(v > 0)) throw new RangeError(`${name} must be > 0, got ${v}`)
      return v
    }
    this.slots = slots
    this.rechokeMs = period('rechokeMs', opts.rechokeMs ?? 10000)
    this.optimisticMs = period('optimisticMs', opts.optimisticMs ?? 30000)
    this.newPeerMs = opts.newPeerMs ?? 60000
    this.rng = opts.rng ?? Math.random
  }

  /** The peer holding the optimistic unchoke, if any (diagnostics). */
  get optimisticPeer(): string | null {
    return this.optimistic
  }

  /** The peers holding regular slots (diagnostics). */
  get regularPeers(): string[] {
    return [...this.regular]
  }

  /**
   * Re-evaluate. `peers` is every handshaken peer of the torrent now (a peer
   * absent from it is forgotten); `seeding` says which rate ranks them. A full
   * re-choice happens when `rechokeMs` has passed since the last one (or the
   * seeding flag changed); otherwise regular slots only lose peers that left
   * or lost interest and free slots are filled. Returns the wire messages
   * to send: only peers whose `amChoking` must change, in `peers` order.
   */
  rechoke(now: number, peers: readonly ChokePeerView[], seeding: boolean): ChokeDecision {
    const byId = new Map<string, ChokePeerView>()
    for (const p of peers) if (!byId.has(p.id)) byId.set(p.id, p)
    const wants = (id: string | null): boolean => id !== null && byId.get(id)?.interested === true

    // Forget peers that left or lost interest.
    for (const id of this.regular) if (!wants(id)) this.regular.delete(id)
    if (!wants(this.optimistic)) this.optimistic = null

    // Snubbed peers rank below all others while downloading (-1 is below every rate).
    const rate = (p: ChokePeerView): number =>
      seeding ? rateOf(p.upRateToPeer) : p.snubbed === true ? -1 : rateOf(p.downRateFromPeer)

    const fullDue = this.lastSeeding !== seeding || now - this.lastFull >= this.rechokeMs || now < this.lastFull
    this.lastSeeding = seeding
    if (fullDue) {
      this.lastFull = now
      this.regular = new Set(this.ranked([...byId.values()].filter((p) => p.interested), rate).slice(0, this.slots))
    } else if (this.regular.size < this.slots) {
      const free = this.slots - this.regular.size
      const cands = [...byId.values()].filter((p) => p.interested && !this.regular.has(p.id) && p.id !== this.optimistic)
      for (const id of this.ranked(cands, rate).slice(0, free)) this.regular.add(id)
    }

    // The optimistic slot: re-drawn when its holder left, was promoted, or its time is up.
    const expired = now - this.lastOptimistic >= this.optimisticMs || now < this.lastOptimistic
    if (this.optimistic === null || this.regular.has(this.optimistic) || expired) {
      const previous = this.optimistic !== null && !this.regular.has(this.optimistic) ? this.optimistic : null
      let cands = [...byId.values()].filter((p) => p.interested && !this.regular.has(p.id))
      // Rotation means someone else gets the turn, when there is anyone else.
      if (previous !== null && cands.length > 1) cands = cands.filter((p) => p.id !== previous)
      this.optimistic = this.draw(cands, now)
      if (this.optimistic !== null) this.lastOptimistic = now
    }

    const unchoke: string[] = []
    const choke: string[] = []
    for (const p of byId.values()) {
      const on = this.regular.has(p.id) || this.optimistic === p.id
      if (on && p.amChoking) unchoke.push(p.id)
      else if (!on && !p.amChoking) choke.push(p.id)
    }
    return { unchoke, choke }
  }

  /** Ids by rate, fastest first; ties broken at random. */
  private ranked(peers: readonly ChokePeerView[], rate: (p: ChokePeerView) => number): string[] {
    return peers
      .map((p) => ({ id: p.id, r: rate(p), k: this.rng() }))
      .sort((a, b) => b.r - a.r || a.k - b.k)
      .map((x) => x.id)
  }

  /** Weighted draw: new peers count three times. */
  private draw(peers: readonly ChokePeerView[], now: number): string | null {
    if (peers.length === 0) return null
    const weight = (p: ChokePeerView): number => (now - p.connectedAt < this.newPeerMs ? NEW_PEER_WEIGHT : 1)
    let total = 0
    for (const p of peers) total += weight(p)
    let x = Math.min(Math.max(this.rng(), 0), 1) * total
    for (const p of peers) {
      x -= weight(p)
      if (x < 0) return p.id
    }
    return peers[peers.length - 1]!.id
  }
}
