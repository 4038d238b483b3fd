/**
 * Command constructors for pipelines, under the names pipelines read best
 * with. They build the same plain messages as `lib/messages.ts`.
 *
 * @module
 */
import { closeTorrent as closeTorrentMessage, createNewTorrent, type CloseTorrent, type CreateNewTorrent, type TorrentId } from '../lib/messages.ts'

/**
 * Options of {@link createTorrent}.
 *
 * @example
 * ```ts
 * const opts: CreateTorrentOptions = { savefolder: 'downloads', peers: ['192.168.1.20:6881'] }
 * ```
 */
export interface CreateTorrentOptions {
  /** Folder the data is saved in; the engine's default folder when absent. */
  readonly savefolder?: string
  /** Extra peers to connect to, as `host:port`. */
  readonly peers?: readonly string[]
}

/**
 * A command that starts a torrent from the bytes of a .torrent file or a magnet URI.
 *
 * @example
 * ```ts
 * import { now } from '@most/core'
 * import { readFile } from 'node:fs/promises'
 * const commands = now(createTorrent(await readFile('a.torrent'), { savefolder: 'downloads' }))
 * ```
 */
export const createTorrent = (rawmetainfo: Uint8Array | string, options: CreateTorrentOptions = {}): CreateNewTorrent =>
  createNewTorrent(rawmetainfo, options)

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
