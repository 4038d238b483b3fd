import { filter, map } from '@most/core'
import type { Stream } from '@most/types'
import { isTorrentStatusUpdate, type Feedback, type TorrentId, type TorrentStatusUpdate } from '../lib/messages.ts'

/**
 * Transfer rates and totals of one torrent at one moment.
 *
 * @example
 * ```ts
 * const ratio = (r: Rates) => (r.downTotal === 0 ? 0 : r.upTotal / r.downTotal)
 * ```
 */
export interface Rates {
  /** The torrent these figures are of. */
  readonly torrentid: TorrentId
  /** Bytes per second received. */
  readonly downRate: number
  /** Bytes per second sent. */
  readonly upRate: number
  /** Bytes received so far. */
  readonly downTotal: number
  /** Bytes sent so far. */
  readonly upTotal: number
}

/**
 * The transfer rates carried by status updates, one {@link Rates} per update.
 *
 * @example
 * ```ts
 * import { tap } from '@most/core'
 * const show = tap((r: Rates) => console.log(`${r.downRate / 1e6} MB/s down`))
 * show(rates(forTorrent(id, feedback)))
 * ```
 */
export const rates = (feedback: Stream<Feedback>): Stream<Rates> =>
  map((u: TorrentStatusUpdate): Rates => {
    const { downRate, upRate, downTotal, upTotal } = u.statsdictionary
    return { torrentid: u.torrentid, downRate, upRate, downTotal, upTotal }
  }, filter(isTorrentStatusUpdate, feedback))
