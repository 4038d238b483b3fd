/**
 * The torrent's side of its web seeds ({@link WebSeedHost}): a run is
 * claimed from the picker as whole pieces under the seed's own id, a
 * delivered piece enters the block assembly like any peer's blocks (so the
 * hash check, the disk writes and the bad-data rules are the same), and the
 * verdict goes back to the seed.
 *
 * @internal
 * @module
 */
import type { PiecePicker } from './picker.ts'
import type { WebSeedHost } from './web-seed-source.ts'

/** What the host needs from its torrent. */
export interface TorrentWebSeedOptions {
  readonly picker: PiecePicker
  /** The block assembly's add (see PieceAssembly.add). */
  add(piece: number, offset: number, data: Uint8Array, sender: string, pieceComplete: boolean): void
  /** Work may be given out: the torrent runs and the assembly is not full. */
  open(): boolean
  /** Accepted bytes from `sender` (stats). */
  accepted(sender: string, bytes: number): void
  warn?(url: string, message: string): void
}

/**
 * The picker id of a web seed.
 *
 * @example
 * ```ts
 * webSeedId('http://h/files/') // 'web:http://h/files/'
 * ```
 */
export const webSeedId = (url: string): string => `web:${url}`

/**
 * A torrent's web seed host.
 *
 * @example
 * ```ts
 * const host = new TorrentWebSeeds({ picker, add: (...a) => assembly.add(...a), open: () => running, accepted })
 * // in the torrent's settled(piece, ok):
 * host.settled(piece, ok)
 * ```
 */
export class TorrentWebSeeds implements WebSeedHost {
  private readonly waiting = new Map<number, (ok: boolean | null) => void>()

  constructor(private readonly o: TorrentWebSeedOptions) {}

  claim(source: string, max: number): { first: number; count: number } | null {
    if (!this.o.open()) return null
    return this.o.picker.claimRun(webSeedId(source), max)
  }

  unclaim(source: string, first: number, count: number): void {
    const { picker } = this.o
    const id = webSeedId(source)
    for (let p = first; p < first + count; p++) for (let b = 0; b < picker.blocksOf(p); b++) picker.cancelled(id, picker.blockRequest(p, b))
  }

  deliver(source: string, piece: number, bytes: Buffer, judged: (ok: boolean | null, taken: number) => void): Promise<boolean | null> {
    const { picker } = this.o
    const id = webSeedId(source)
    let accepted = 0
    let complete = false
    const done = new Promise<boolean | null>((resolve) => this.waiting.set(piece, (ok) => { judged(ok, accepted); resolve(ok) }))
    for (let b = 0; b < picker.blocksOf(piece); b++) {
      const r = picker.blockRequest(piece, b)
      const res = picker.received(id, r)
      if (!res.accepted) continue
      accepted += r.length
      complete = res.pieceComplete
      this.o.add(piece, r.offset, bytes.subarray(r.offset, r.offset + r.length), id, res.pieceComplete)
    }
    if (accepted > 0) this.o.accepted(id, accepted)
    // Nothing taken (the piece was lost to a failure or closed meanwhile), or
    // someone else's blocks complete it later: the seed is not judged by it.
    if (!complete) {
      this.waiting.delete(piece)
      judged(null, accepted)
      return Promise.resolve(null)
    }
    return done
  }

  /** The torrent's verdict on a piece (call from its settled callback). */
  settled(piece: number, ok: boolean): void {
    const resolve = this.waiting.get(piece)
    if (resolve === undefined) return
    this.waiting.delete(piece)
    resolve(ok)
  }

  /** The torrent stops: pending deliveries end unjudged. */
  clear(): void {
    for (const resolve of this.waiting.values()) resolve(null)
    this.waiting.clear()
  }

  warn(url: string, message: string): void {
    this.o.warn?.(url, message)
  }
}
