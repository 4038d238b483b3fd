import { filter, map, skipRepeats } from '@most/core'
import type { Stream } from '@most/types'
import { isTorrentStatusUpdate, type Feedback, type TorrentStatusUpdate } from '../lib/messages.ts'

/**
 * Progress as a fraction 0..1 (`fractionDone`), once per change. Give it one
 * torrent's updates ({@link forTorrent}) when the stream carries several;
 * other messages are ignored.
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
      filter(isTorrentStatusUpdate, feedback)
    )
  )
