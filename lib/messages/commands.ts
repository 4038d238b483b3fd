/**
 * The TIPC commands, patron -> engine: their types, constructors and type
 * guards.
 *
 * @module
 */

import { is } from './guard.ts'
import type { TorrentId } from './ids.ts'
import type { TorrentCommandRefused } from './feedback.ts'

/**
 * Ask the engine to start a torrent.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs'
 * const cmd = createNewTorrent(readFileSync('a.torrent'), { savefolder: '/tmp/dl' })
 * ```
 */
export interface CreateNewTorrent {
  /** Discriminant of the union. */
  readonly type: 'CreateNewTorrent'
  /** The bytes of a .torrent file, or a magnet URI. */
  readonly rawmetainfo: Uint8Array | string
  /** Where the data goes (absolute or relative); defaults to the engine's folder. */
  readonly savefolder?: string
  /** Extra peers to connect to, as `host:port` (LANs, tests). */
  readonly peers?: readonly string[]
  /**
   * Per-file priorities, by file index (the torrent's files in metainfo
   * order, BEP 47 pad files not counted); files past the list are `normal`.
   * Skipped files are not created; absent: every file normal.
   */
  readonly priorities?: readonly FilePriority[]
  /**
   * The priority of the files past the end of `priorities` (default
   * `normal`). `'skip'` with `priorities` naming the wanted files downloads
   * only those, which is how a magnet's selection is given before its file
   * count is known (aria2c's `--select-file`). An index in `priorities`
   * past the torrent's files fails the torrent, at once for a .torrent file,
   * when its metadata arrives for a magnet.
   */
  readonly otherFiles?: FilePriority
}

/**
 * How much a file of a torrent is wanted: `skip` is not downloaded (nor
 * created on disk); `high` pieces come before `normal` before `low`.
 *
 * @example
 * ```ts
 * const only: FilePriority[] = ['skip', 'high', 'skip']
 * ```
 */
export type FilePriority = 'skip' | 'low' | 'normal' | 'high'

/**
 * Change one file's priority while the torrent runs. Only an owner of the
 * torrent may (others get {@link TorrentCommandRefused}); when several
 * patrons own it, the file gets the highest priority any owner asks for
 * (an owner that never asked counts as `normal`), so no owner can take a
 * file away from another.
 *
 * @example
 * ```ts
 * const cmd: SetFilePriority = { type: 'SetFilePriority', torrentid: id, file: 2, priority: 'skip' }
 * ```
 */
export interface SetFilePriority {
  /** Discriminant of the union. */
  readonly type: 'SetFilePriority'
  /** Id of the torrent, as handed out by the engine. */
  readonly torrentid: TorrentId
  /**
   * File index (metainfo order, pad files not counted), or `'others'`: every
   * file that no priority names (the creation's `priorities` list nor a
   * SetFilePriority). An index past the torrent's files gets a
   * {@link TorrentCommandRefused} from the engine (for a magnet, once its
   * metadata arrived), delivered only to the owners that asked for it.
   */
  readonly file: number | 'others'
  /** The new priority. */
  readonly priority: FilePriority
}

/**
 * Ask the engine to stop a torrent; verified data stays on disk.
 *
 * @example
 * ```ts
 * const cmd: CloseTorrent = { type: 'CloseTorrent', torrentid: id } // or closeTorrent(id)
 * ```
 */
export interface CloseTorrent {
  /** Discriminant of the union. */
  readonly type: 'CloseTorrent'
  /** Id of the torrent, as handed out by the engine. */
  readonly torrentid: TorrentId
}

/**
 * Every message a patron (and so the engine) accepts.
 *
 * @example
 * ```ts
 * const commands: EngineCommand[] = [createNewTorrent(torrentBytes), closeTorrent(id)]
 * ```
 */
export type EngineCommand = CreateNewTorrent | CloseTorrent | SetFilePriority

/**
 * What a patron's command stream carries. Same as {@link EngineCommand}.
 *
 * @example
 * ```ts
 * const commands: Stream<Command> = now(createNewTorrent(torrentBytes))
 * ```
 */
export type Command = EngineCommand

/**
 * Build a {@link CreateNewTorrent}.
 * @example
 * ```ts
 * createNewTorrent('magnet:?xt=urn:btih:...', { savefolder: 'downloads' })
 * ```
 */
export const createNewTorrent = (
  rawmetainfo: Uint8Array | string,
  options: { savefolder?: string; peers?: readonly string[]; priorities?: readonly FilePriority[]; otherFiles?: FilePriority } = {}
): CreateNewTorrent => ({ type: 'CreateNewTorrent', rawmetainfo, ...options })

/**
 * Build a {@link CloseTorrent}.
 * @example
 * ```ts
 * closeTorrent(id)
 * ```
 */
export const closeTorrent = (torrentid: TorrentId): CloseTorrent => ({ type: 'CloseTorrent', torrentid })

/**
 * Build a {@link SetFilePriority}.
 * @example
 * ```ts
 * setFilePriority(id, 0, 'high')
 * ```
 */
export const setFilePriority = (torrentid: TorrentId, file: number | 'others', priority: FilePriority): SetFilePriority => ({
  type: 'SetFilePriority',
  torrentid,
  file,
  priority
})

/**
 * True for a {@link CreateNewTorrent}.
 * @example
 * ```ts
 * const creations = filter(isCreateNewTorrent, commands)
 * ```
 */
export const isCreateNewTorrent = is<CreateNewTorrent>('CreateNewTorrent')

/**
 * True for a {@link CloseTorrent}.
 * @example
 * ```ts
 * const closings = filter(isCloseTorrent, commands)
 * ```
 */
export const isCloseTorrent = is<CloseTorrent>('CloseTorrent')

/**
 * True for a {@link SetFilePriority}.
 * @example
 * ```ts
 * const changes = filter(isSetFilePriority, commands)
 * ```
 */
export const isSetFilePriority = is<SetFilePriority>('SetFilePriority')
