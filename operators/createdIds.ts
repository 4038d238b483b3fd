import { filter, map } from '@most/core'
import type { Stream } from '@most/types'
import {
  isNewTorrentCreated,
  isTorrentAlreadyDownloading,
  type Feedback,
  type NewTorrentCreated,
  type TorrentAlreadyDownloading,
  type TorrentId
} from '../lib/messages.ts'

const isCreated = (m: Feedback): m is NewTorrentCreated | TorrentAlreadyDownloading =>
  isNewTorrentCreated(m) || isTorrentAlreadyDownloading(m)

/**
 * The id of every torrent a patron was given, in reply order: from
 * `NewTorrentCreated` and from `TorrentAlreadyDownloading` (which makes the
 * patron a co-owner of the running torrent).
 *
 * @example
 * ```ts
 * import { take, runEffects, tap } from '@most/core'
 * const first = take(1, createdIds(feedback))
 * await runEffects(tap((id: TorrentId) => console.log('started', id), first), scheduler)
 * ```
 */
export const createdIds = (feedback: Stream<Feedback>): Stream<TorrentId> =>
  map((m: NewTorrentCreated | TorrentAlreadyDownloading) => m.torrentid, filter(isCreated, feedback))
