/**
 * A peer's request queue while readers wait on pieces it has.
 *
 * A peer serves requests in the order they came (aria2c does, as the
 * engine's own upload queue does; BEP 3 leaves it open), so a block asked for now waits
 * behind every request already queued there. At 200 KB/s one second of
 * queue is a second of wait, and a seek asks for its piece when the queue
 * is full of blocks nobody is waiting for. Two rules keep readers' blocks at
 * the head:
 *
 * - the queue is kept to about {@link READ_QUEUE_SECONDS} of the peer's
 *   data ({@link readQueueCap}); beyond that the newest requests for pieces
 *   no reader needs are withdrawn;
 * - a request for a piece readers need (a critical piece, ranked by its
 *   place in the deadline order: rank 0 is due now, rank j about j
 *   piece-times from now) may wait behind at most the blocks the peer
 *   delivers before its deadline ({@link aheadBudget}); less urgent requests
 *   queued ahead of it beyond that are withdrawn, the nearest to it first
 *   (the oldest may be on the wire already), and asked again later, behind
 *   it ({@link reorder}).
 *
 * libtorrent asks for time-critical pieces before anything else, each from
 * the peer whose queue (outstanding bytes over its rate) drains first, and
 * leaves what is queued alone; its streaming notes name full queues hurting
 * a seek as an open question. With one slow seeder no queue is short, so
 * here what stands in the way is withdrawn. Pure: the request pipeline
 * (download/requests.ts) hands it the ranks of what is queued and of what
 * it is about to ask.
 *
 * @internal
 * @module
 */

/** Seconds of a peer's data kept queued with it while readers wait on it. */
export const READ_QUEUE_SECONDS = 1
/** Seconds of a peer's data that may be on the wire already: never worth withdrawing. */
export const TRANSIT_SECONDS = 0.1
/** Fewest requests kept queued, and fewest allowed ahead of any block, at any rate. */
export const MIN_QUEUED = 2

/** Rank of a request for a piece no reader needs. */
export const UNRANKED = Number.POSITIVE_INFINITY

/**
 * Most requests kept outstanding with a peer while readers wait on it:
 * about a second of its data at `rate` bytes/s, never more than its normal
 * `depth`, never fewer than {@link MIN_QUEUED}.
 *
 * @example
 * ```ts
 * readQueueCap(200_000, 16384, 64) // 13
 * readQueueCap(50e6, 16384, 500)   // 500
 * ```
 */
export const readQueueCap = (rate: number, blockSize: number, depth: number): number => {
  const r = rate > 0 && Number.isFinite(rate) ? rate : 0
  return Math.max(MIN_QUEUED, Math.min(depth, Math.ceil((r * READ_QUEUE_SECONDS) / blockSize)))
}

/** What {@link aheadBudget} needs to know of the peer and the torrent. */
export interface AheadOptions {
  /** Blocks in a piece. */
  readonly blocksPerPiece: number
  /** The peer's download rate, bytes/s. */
  readonly peerRate: number
  /** The torrent's download rate, bytes/s (all peers): the deadlines are spaced by it. */
  readonly torrentRate: number
  readonly blockSize: number
}

/**
 * Blocks that may stay queued ahead of the last block of a piece of
 * critical rank `rank` at one peer: what may be on the wire already, plus
 * what the peer delivers before the piece is due, `rank + 1` piece-times
 * from now (its own other blocks among them). A piece-time is a piece at the
 * torrent's rate, of which this peer gives its share. The rank is a lower
 * bound of the piece's place in its reader's window (pieces already there
 * count in the window, not in the rank), so the budget errs tight.
 *
 * @example
 * ```ts
 * // one peer at 200 KB/s, 64 KiB pieces: the piece due now may have 2 blocks of others ahead of its own 4
 * aheadBudget(0, { blocksPerPiece: 4, peerRate: 200e3, torrentRate: 200e3, blockSize: 16384 }) // 5
 * aheadBudget(1, { blocksPerPiece: 4, peerRate: 200e3, torrentRate: 200e3, blockSize: 16384 }) // 9
 * ```
 */
export const aheadBudget = (rank: number, o: AheadOptions): number => {
  const peer = o.peerRate > 0 && Number.isFinite(o.peerRate) ? o.peerRate : 0
  const share = peer > 0 && o.torrentRate > peer ? peer / o.torrentRate : 1
  const transit = Math.max(MIN_QUEUED, Math.ceil((peer * TRANSIT_SECONDS) / o.blockSize))
  return transit + Math.max(0, Math.floor((rank + 1) * o.blocksPerPiece * share) - 1)
}

/**
 * Seconds of queue below which the rules here are not applied: a reader's
 * block waits at most this long behind a peer's whole queue, and withdrawing
 * and asking again (a cancel and a request per block, and a pass over the
 * queue each time the readers' list changes, which is each verified piece)
 * costs more CPU than it saves there.
 */
export const MOOT_SECONDS = 0.5

/**
 * True when the peer's whole queue (`depth` requests) drains within
 * {@link MOOT_SECONDS} at its rate: then the normal pick, which takes the
 * readers' pieces first, is left to order it. A peer whose rate is not
 * measured yet keeps the rules.
 *
 * @example
 * ```ts
 * const o = { blocksPerPiece: 16, peerRate: 100e6, torrentRate: 100e6, blockSize: 16384 }
 * readQueueMoot(500, o)                                   // true: 500 blocks are 82 ms at 100 MB/s
 * readQueueMoot(500, { ...o, peerRate: 2e6, torrentRate: 2e6 }) // false: 4 s
 * ```
 */
export const readQueueMoot = (depth: number, o: AheadOptions): boolean =>
  o.peerRate > 0 && Number.isFinite(o.peerRate) && depth * o.blockSize <= o.peerRate * MOOT_SECONDS

/**
 * Which queued requests to withdraw. `ranks` are the ranks of the peer's
 * outstanding requests, oldest first, followed by the `incoming` requests
 * about to be sent ({@link UNRANKED} for a piece no reader needs). Returns
 * indices of outstanding requests (never of incoming ones), newest first:
 *
 * - for each critical rank, most urgent first, at its last request (the
 *   piece is whole only then): while more than `budget(rank)` requests stay
 *   ahead of it, the nearest one ahead of it of a worse rank is withdrawn;
 * - then, while more than `cap` requests stay (incoming counted), the
 *   newest unranked one is withdrawn.
 *
 * Nothing is withdrawn when every request is in rank order within its
 * budget and the queue is within the cap. `budget` must not fall as the
 * rank grows.
 *
 * @example
 * ```ts
 * // ten blocks no reader needs are queued; a seek's piece (rank 0) is about to be asked
 * reorder([...Array(10).fill(UNRANKED), 0, 0, 0, 0], 4, { cap: 13, budget: () => 5 }) // [9, 8, 7, 6, 5, 4, 3, 2]
 * ```
 */
export function reorder(
  ranks: readonly number[],
  incoming: number,
  o: { readonly cap: number; readonly budget: (rank: number) => number },
): number[] {
  const n = ranks.length
  const sent = Math.max(0, n - Math.max(0, incoming))
  const gone = new Uint8Array(n)
  const goneAt: number[] = [] // withdrawn indices: few, so counting those before a place is cheap
  // the last request of each critical rank, most urgent first
  const last = new Map<number, number>()
  // budgets grow with the rank: when the least covers the queue, nothing waits too long
  if (o.budget(0) < n) for (let i = 0; i < n; i++) if (ranks[i] !== UNRANKED) last.set(ranks[i]!, i)
  for (const [rank, at] of [...last].sort((a, b) => a[0] - b[0])) {
    const budget = o.budget(rank)
    if (budget >= n) break // budgets grow with the rank: nothing further waits too long
    let ahead = at
    for (const g of goneAt) if (g < at) ahead--
    for (let j = Math.min(at, sent) - 1; j >= 0 && ahead > budget; j--) {
      if (gone[j] === 1 || !(ranks[j]! > rank)) continue
      gone[j] = 1
      goneAt.push(j)
      ahead--
    }
  }
  let kept = n - goneAt.length
  for (let j = sent - 1; j >= 0 && kept > o.cap; j--) {
    if (gone[j] === 1 || ranks[j] !== UNRANKED) continue
    gone[j] = 1
    kept--
  }
  const out: number[] = []
  for (let j = sent - 1; j >= 0; j--) if (gone[j] === 1) out.push(j)
  return out
}
