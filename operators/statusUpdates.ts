import { filter } from '@most/core'
import type { Stream } from '@most/types'
import { isTorrentStatusUpdate, type Feedback, type TorrentStatusUpdate } from '../lib/messages.ts'

/**
 * Keep only the {@link TorrentStatusUpdate}s of a patron's feedback, of every
 * torrent it owns; creation replies and refusals are dropped.
 *
 * @example
 * ```ts
 * import { runEffects, tap } from '@most/core'
 * import { newDefaultScheduler } from '@most/scheduler'
 * const log = tap((u: TorrentStatusUpdate) => console.log(u.torrentid, u.statsdictionary.activity))
 * await runEffects(log(statusUpdates(patron(commands))), newDefaultScheduler())
 * ```
 */
export const statusUpdates = (feedback: Stream<Feedback>): Stream<TorrentStatusUpdate> =>
  filter(isTorrentStatusUpdate, feedback)
