import { filter, map, skipRepeats } from '@most/core'
import type { Stream } from '@most/types'
import { isTorrentStatusUpdate, type Feedback, type TorrentStatusUpdate } from '../lib/messages.ts'

/**
 * Progress as a fraction 0..1 of verified data (`fractionDone`), once per
 * change. Updates while the torrent is `"checking"` are left out: their
 * fraction measures the check, not the data. Give it one torrent's updates
 * ({@link forTorrent}) when the stream carries several; other messages are
 * ignored.
 *
 * @example
 * ```ts
 * import { map } from '@most/core'
 * const percent = map((f: number) => Math.round(f * 100), progress(forTorrent(id, feedback)))
 * ```
 */
export const progress = (feedback: Stream<Feedback>): Stream<number> =>
  skipRepeats(
    map(
      (u: TorrentStatusUpdate) => u.statsdictionary.fractionDone,
      filter(
        (m: Feedback): m is TorrentStatusUpdate => isTorrentStatusUpdate(m) && m.statsdictionary.activity !== 'checking',
        feedback
      )
    )
  )
