import { filter } from '@most/core'
import type { Stream } from '@most/types'
import { isTorrentStatusUpdate, type Feedback, type TorrentId, type TorrentStatusUpdate } from '../lib/messages.ts'
import { curry2 } from '@most/prelude'

/**
 * The status updates of one torrent, picked out of a feedback stream that may
 * carry several torrents (a patron owning many, or several patrons merged).
 *
 * @example
 * ```ts
 * import { chain } from '@most/core'
 * // each created torrent's updates, one stream per torrent
 * const perTorrent = chain((id: TorrentId) => forTorrent(id, feedback), createdIds(feedback))
 * // or curried
 * const mine = forTorrent(id)(feedback)
 * ```
 */
export const forTorrent = curry2(
  (torrentid: TorrentId, feedback: Stream<Feedback>): Stream<TorrentStatusUpdate> =>
    filter((m: Feedback): m is TorrentStatusUpdate => isTorrentStatusUpdate(m) && m.torrentid === torrentid, feedback)
)
