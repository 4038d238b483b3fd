/**
 * BEP 6 (fast extension) rules that need no socket: the allowed-fast set a
 * peer is given, the first availability message (Have All / Have None /
 * bitfield), and what happens to requests when a peer chokes or rejects.
 * The wire part (reserved bit, message codecs, rejecting our queued requests
 * when we choke) is bittorrent-protocol's; the torrent applies these rules.
 *
 * @internal
 * @module
 */
import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import { bareHost } from '../swarm/address.ts'
import type { BlockRequest } from '../contracts.ts'

/** Allowed-fast pieces given to each peer (the BEP's suggested size). */
export const ALLOWED_FAST_COUNT = 10

/**
 * The BEP 6 allowed-fast set for a peer: SHA-1 chained from the peer's
 * address masked to its /24 and the info hash, each 4-byte word of a digest
 * taken modulo the piece count, duplicates skipped, until `count` pieces (or
 * every piece of a smaller torrent) are chosen. The BEP defines it for IPv4
 * only; an IPv6 peer gets an empty set (libtorrent does the same), and an
 * IPv4-mapped IPv6 address counts as its IPv4 address.
 *
 * @param host the peer's address as seen on the socket
 * @param infoHash 20 raw bytes
 * @param pieceCount pieces in the torrent
 * @param count wanted set size (k)
 * @returns piece indices in the order the BEP generates them
 *
 * @example
 * ```ts
 * allowedFastSet('80.4.4.200', new Uint8Array(20).fill(0xaa), 1313, 7)
 * // [1059, 431, 808, 1217, 287, 376, 1188]
 * ```
 */
export const allowedFastSet = (host: string, infoHash: Uint8Array, pieceCount: number, count = ALLOWED_FAST_COUNT): number[] => {
  const ip = bareHost(host)
  if (isIP(ip) !== 4 || infoHash.length !== 20 || !Number.isSafeInteger(pieceCount) || pieceCount <= 0) return []
  const k = Math.min(Math.max(0, Math.floor(count)), pieceCount)
  const octets = ip.split('.').map(Number)
  let x: Uint8Array = new Uint8Array(24)
  x.set([octets[0] ?? 0, octets[1] ?? 0, octets[2] ?? 0, 0], 0)
  x.set(infoHash, 4)
  const chosen: number[] = []
  const seen = new Set<number>()
  while (chosen.length < k) {
    x = createHash('sha1').update(x).digest()
    const view = new DataView(x.buffer, x.byteOffset, x.byteLength)
    for (let i = 0; i < 5 && chosen.length < k; i++) {
      const piece = view.getUint32(i * 4) % pieceCount
      if (!seen.has(piece)) {
        seen.add(piece)
        chosen.push(piece)
      }
    }
  }
  return chosen
}

/** The first message after the handshake that tells a peer what we have. */
export type AvailabilityMessage = 'have-all' | 'have-none' | 'bitfield'

/**
 * Which availability message to send: with the fast extension a seed sends
 * Have All and an empty client Have None (no bitfield of all ones or zeros);
 * otherwise a bitfield, or nothing at all when we have nothing (BEP 3 allows
 * leaving it out), which is also `'have-none'`.
 *
 * @example
 * ```ts
 * availabilityMessage(true, 100, 100)  // 'have-all'
 * availabilityMessage(false, 0, 100)   // 'have-none' (send nothing)
 * ```
 */
export const availabilityMessage = (fast: boolean, have: number, pieceCount: number): AvailabilityMessage => {
  if (have === 0) return 'have-none'
  if (fast && have === pieceCount) return 'have-all'
  return 'bitfield'
}

/**
 * Whether we may request a block of `piece` from a peer: always while it
 * unchokes us; while it chokes us, only a piece in the allowed-fast set it
 * gave us (and only when the fast extension is on).
 *
 * @example
 * ```ts
 * mayRequest({ choked: true, fast: true, allowedFast: new Set([3]) }, 3) // true
 * mayRequest({ choked: true, fast: true, allowedFast: new Set([3]) }, 4) // false
 * ```
 */
export const mayRequest = (peer: { readonly choked: boolean; readonly fast: boolean; readonly allowedFast: ReadonlySet<number> }, piece: number): boolean =>
  !peer.choked || (peer.fast && peer.allowedFast.has(piece))

/**
 * What to do with our requests in flight when a peer chokes us. Without the
 * fast extension a choke cancels them all (BEP 3): every one goes back to the
 * picker. With it a choke cancels nothing: the peer either serves a request
 * or rejects it, so all stay in flight (the request timeout catches a peer
 * that does neither).
 *
 * @example
 * ```ts
 * onChoked(false, inflight) // { keep: [], release: inflight }
 * onChoked(true, inflight)  // { keep: inflight, release: [] }
 * ```
 */
export const onChoked = <R extends BlockRequest>(fast: boolean, inflight: readonly R[]): { keep: R[]; release: R[] } =>
  fast ? { keep: [...inflight], release: [] } : { keep: [], release: [...inflight] }

/**
 * The request a Reject names, or null when it names none of ours (a stray
 * reject is ignored). The matched block goes back to the picker at once, so
 * another source is asked for it without waiting for a timeout.
 *
 * @example
 * ```ts
 * rejected(inflight, { piece: 1, offset: 16384, length: 16384 }) // the matching request, or null
 * ```
 */
export const rejected = <R extends BlockRequest>(inflight: readonly R[], reject: BlockRequest): R | null =>
  inflight.find((r) => r.piece === reject.piece && r.offset === reject.offset && r.length === reject.length) ?? null

/** How long an allowed-fast piece a choking peer rejected waits before it is asked for again (ms). */
export const FAST_REJECT_RETRY = 10_000

/** Cancels awaiting their answer kept per peer at most (a peer that never answers one cannot grow it). */
export const MAX_UNANSWERED_CANCELS = 1024

const blockKey = (piece: number, offset: number, length: number): string => `${piece}:${offset}:${length}`

/**
 * What the Reject messages of one fast-extension peer mean (BEP 6). A peer
 * answers each of our cancels with the block or a Reject, so the first
 * answer for a block after we cancelled it belongs to the cancelled request,
 * even when we asked for the same block again meanwhile: that Reject refuses
 * nothing we still want. Any other Reject of an allowed-fast piece while the
 * peer chokes us means "not now": the piece is not asked of this peer again
 * for `retryMs`, or until it unchokes us, and other sources may take it at once.
 *
 * @example
 * ```ts
 * const answers = new FastRejects()
 * answers.cancelled(7, 0, 16384)               // we sent Cancel, then Request again for the same block
 * answers.answersCancel(7, 0, 16384)           // true: the Reject that follows answers the Cancel
 * answers.refused(7, now)                      // a Reject of the new request, while choked
 * answers.mayAsk(7, now + FAST_REJECT_RETRY)   // true: ask again later
 * ```
 */
export class FastRejects {
  private readonly unanswered = new Map<string, number>()
  private unansweredCount = 0
  private readonly retryAt = new Map<number, number>()

  constructor(private readonly retryMs = FAST_REJECT_RETRY) {}

  /** We cancelled a request: its answer (block or Reject) is still to come. */
  cancelled(piece: number, offset: number, length: number): void {
    if (this.unansweredCount >= MAX_UNANSWERED_CANCELS) {
      this.unanswered.clear()
      this.unansweredCount = 0
    }
    const key = blockKey(piece, offset, length)
    this.unanswered.set(key, (this.unanswered.get(key) ?? 0) + 1)
    this.unansweredCount++
  }

  /**
   * A Reject or a block for this block arrived: true when it is the answer to
   * one of our cancels (a Reject then refuses nothing we still want).
   */
  answersCancel(piece: number, offset: number, length: number): boolean {
    if (this.unansweredCount === 0) return false
    const key = blockKey(piece, offset, length)
    const n = this.unanswered.get(key)
    if (n === undefined) return false
    if (n === 1) this.unanswered.delete(key)
    else this.unanswered.set(key, n - 1)
    this.unansweredCount--
    return true
  }

  /** The peer rejected a request of ours for `piece` while choking us, at `now`. */
  refused(piece: number, now: number): void {
    this.retryAt.set(piece, now + this.retryMs)
  }

  /** `piece` may be asked of this peer while it chokes us, at `now`. */
  mayAsk(piece: number, now: number): boolean {
    const at = this.retryAt.get(piece)
    if (at === undefined) return true
    if (now < at) return false
    this.retryAt.delete(piece)
    return true
  }

  /** It unchoked us: every piece may be asked again. */
  unchoked(): void {
    this.retryAt.clear()
  }
}

/**
 * The allowed-fast pieces worth announcing to a peer: those of its set that
 * we have (announcing one we lack would invite requests we must reject) and
 * it lacks.
 *
 * @example
 * ```ts
 * piecesToAllow([5, 9, 2], (i) => i !== 9, () => false) // [5, 2]
 * ```
 */
export const piecesToAllow = (set: readonly number[], weHave: (piece: number) => boolean, peerHas: (piece: number) => boolean): number[] =>
  set.filter((p) => weHave(p) && !peerHas(p))

/** What {@link greetFast} needs of a connection. */
export interface FastGreeting {
  /** The peer's `host:port`. */
  readonly address: string
  /** Both ends offered the fast extension. */
  readonly fast: boolean
  readonly wire: {
    bitfield(bytes: Uint8Array): void
    haveAll(): void
    haveNone(): void
    allowedFast(piece: number): void
  }
}

/**
 * Our first messages to a new peer: what we have (Have All, Have None, a
 * bitfield, or nothing), then with the fast extension the pieces of its
 * allowed-fast set that we have, which it may request while we choke it.
 *
 * @example
 * ```ts
 * greetFast(peer, picker.haveBitfield(), meta.infoHashBytes)
 * ```
 */
export const greetFast = (peer: FastGreeting, have: { count(): number; readonly length: number; get(i: number): boolean; toBytes(): Uint8Array }, infoHash: Uint8Array): void => {
  const message = availabilityMessage(peer.fast, have.count(), have.length)
  if (message === 'have-all') peer.wire.haveAll()
  else if (message === 'bitfield') peer.wire.bitfield(have.toBytes())
  else if (peer.fast) peer.wire.haveNone()
  allowFast(peer, have, infoHash)
}

/**
 * With the fast extension, tell a peer the pieces of its allowed-fast set
 * that we have: it may request them while we choke it.
 *
 * @example
 * ```ts
 * allowFast(peer, picker.haveBitfield(), meta.infoHashBytes)
 * ```
 */
export const allowFast = (peer: FastGreeting, have: { readonly length: number; get(i: number): boolean }, infoHash: Uint8Array): void => {
  if (!peer.fast) return
  const host = peer.address.startsWith('[') ? peer.address.slice(1, peer.address.lastIndexOf(']')) : peer.address.slice(0, peer.address.lastIndexOf(':'))
  for (const piece of piecesToAllow(allowedFastSet(host, infoHash, have.length), (i) => have.get(i), () => false)) peer.wire.allowedFast(piece)
}
