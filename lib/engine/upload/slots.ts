/**
 * Applying the choker to a torrent's peers: builds the choker's view of each
 * handshaken peer (rates, interest, snub, when it was first seen) and sends
 * the choke and unchoke messages it decides. The rules themselves are in
 * choker.ts (pure, clock injected).
 *
 * @internal
 * @module
 */
import { Choker, type ChokePeerView, type ChokerOptions } from './choker.ts'

/** What choking needs of a peer. */
export interface SlotPeer {
  readonly id: string
  readonly ready: boolean
  readonly closed: boolean
  readonly wire: { readonly peerInterested: boolean; readonly amChoking: boolean; choke(): void; unchoke(): void }
  /** Rate it sends us (bytes/s). */
  readonly down: { rate(): number }
  /** Rate we send it (bytes/s). */
  readonly up: { rate(): number }
  /** Consecutive request timeouts: a peer that times out is snubbing us. */
  readonly timeouts: number
}

/**
 * A torrent's upload slots.
 *
 * @example
 * ```ts
 * const slots = new UploadSlots({ slots: 4 }, Date.now)
 * slots.rechoke(peers.values(), picker.isComplete())
 * ```
 */
export class UploadSlots {
  private readonly choker: Choker
  /** When each peer was first seen ready (the choker favours new peers for the optimistic slot). */
  private readonly connectedAt = new WeakMap<SlotPeer, number>()

  constructor(opts: ChokerOptions, private readonly now: () => number) {
    this.choker = new Choker(opts)
  }

  /** From a torrent's options; bad values fall back to the defaults rather than throwing out of torrent creation. */
  static of(o: { readonly uploadSlots: number; readonly rechokeInterval?: number; readonly optimisticInterval?: number }, now: () => number): UploadSlots {
    const period = (v: number | undefined): number | undefined => (v !== undefined && v > 0 ? v : undefined)
    return new UploadSlots({
      slots: Number.isInteger(o.uploadSlots) && o.uploadSlots >= 0 ? o.uploadSlots : 4,
      rechokeMs: period(o.rechokeInterval),
      optimisticMs: period(o.optimisticInterval)
    }, now)
  }

  /**
   * Apply the choker's decision (BEP 3 / mainline: regular slots re-chosen
   * every 10 s by rate, one optimistic unchoke rotated every 30 s). Cheap
   * enough for every tick and interest change: the choker keeps its own time.
   */
  rechoke(peers: Iterable<SlotPeer>, seeding: boolean): void {
    const now = this.now()
    const views: ChokePeerView[] = []
    const byId = new Map<string, SlotPeer>()
    for (const p of peers) {
      if (!p.ready || p.closed) continue
      let since = this.connectedAt.get(p)
      if (since === undefined) this.connectedAt.set(p, (since = now))
      byId.set(p.id, p)
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
    const { unchoke, choke } = this.choker.rechoke(now, views, seeding)
    // The wire forgets the peer's pending requests on choke; the upload queue skips queued ones.
    for (const id of choke) byId.get(id)?.wire.choke()
    for (const id of unchoke) byId.get(id)?.wire.unchoke()
  }
}
