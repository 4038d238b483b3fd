/**
 * The picker's record of which requests each peer holds: by block key, and
 * per piece how many, so "the pieces this peer works on" costs O(pieces),
 * not O(requests).
 *
 * @internal
 * @module
 */
import type { BlockRequest } from '../contracts.ts'

/**
 * Outstanding requests by peer.
 *
 * @example
 * ```ts
 * const o = new Outstanding()
 * o.link('a', o.of('a'), 0, { piece: 0, offset: 0, length: 16384 })
 * o.piecesOf('a')        // Map { 0 => 1 }
 * o.unlink('a', 0, 0)    // true
 * ```
 */
export class Outstanding {
  private readonly byPeer = new Map<string, Map<number, BlockRequest>>()
  private readonly pieces = new Map<string, Map<number, number>>()

  /** The peer's requests by block key (created empty when it has none). */
  of(peerId: string): Map<number, BlockRequest> {
    let m = this.byPeer.get(peerId)
    if (m === undefined) this.byPeer.set(peerId, (m = new Map()))
    return m
  }

  /** Pieces the peer holds requests in, and how many; undefined when none were ever linked. */
  piecesOf(peerId: string): ReadonlyMap<number, number> | undefined {
    return this.pieces.get(peerId)
  }

  /** Records a request of a peer (`mine` is {@link of} that peer). */
  link(peerId: string, mine: Map<number, BlockRequest>, key: number, r: BlockRequest): void {
    mine.set(key, r)
    let pieces = this.pieces.get(peerId)
    if (pieces === undefined) this.pieces.set(peerId, (pieces = new Map()))
    pieces.set(r.piece, (pieces.get(r.piece) ?? 0) + 1)
  }

  /** Forgets a request of a peer; false when there was none. */
  unlink(peerId: string, key: number, piece: number): boolean {
    if (this.byPeer.get(peerId)?.delete(key) !== true) return false
    const pieces = this.pieces.get(peerId)!
    const n = pieces.get(piece)! - 1
    if (n > 0) pieces.set(piece, n)
    else pieces.delete(piece)
    return true
  }

  /** Forgets every request of a peer and returns them (by block key), if it had any. */
  release(peerId: string): Map<number, BlockRequest> | undefined {
    const mine = this.byPeer.get(peerId)
    if (mine === undefined) return undefined
    this.byPeer.delete(peerId)
    this.pieces.delete(peerId)
    return mine
  }

  /** The peer's requests. */
  requestedBy(peerId: string): BlockRequest[] {
    const mine = this.byPeer.get(peerId)
    return mine === undefined ? [] : [...mine.values()]
  }
}
