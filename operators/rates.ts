import { filter, map } from '@most/core'
import type { Stream } from '@most/types'
import { isTorrentStatusUpdate, type Feedback, type TorrentId, type TorrentStatusUpdate } from '../lib/messages.ts'

/** Transfer rates and totals of one torrent at one moment, in bytes (per second). */
export interface Rates {
  readonly torrentid: TorrentId
  readonly downRate: number
  readonly upRate: number
  readonly downTotal: number
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
