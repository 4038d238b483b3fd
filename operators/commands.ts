/**
 * The command pipelines close torrents with, built as `lib/messages.ts`
 * builds it (the command that starts one is `createNewTorrent`, from
 * `torrent-patron`).
 *
 * @module
 */
import { closeTorrent as closeTorrentMessage, type CloseTorrent, type TorrentId } from '../lib/messages.ts'

/**
 * A command that stops a torrent the patron owns; verified data stays on disk.
 *
 * @example
 * ```ts
 * import { map } from '@most/core'
 * const closes = map((u: TorrentStatusUpdate) => closeTorrent(u.torrentid), completion(id, feedback))
 * ```
 */
export const closeTorrent = (torrentid: TorrentId): CloseTorrent => closeTorrentMessage(torrentid)
