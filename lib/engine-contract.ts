/**
 * The one thing the service knows of engines, and the one thing an engine
 * promises: a function from commands to feedback. Kept apart from both so that
 * neither depends on the other.
 *
 * @module
 */
import type { Stream } from '@most/types'
import type { EngineCommand, EngineFeedback } from './messages.ts'

/**
 * An engine: `Stream<EngineCommand> -> Stream<EngineFeedback>`. Its contract:
 * exactly one creation reply (NewTorrentCreated, TorrentStartFail or
 * TorrentAlreadyDownloading) per CreateNewTorrent, in request order; status
 * updates for running torrents; closing an unknown id is harmless; disposing
 * its output stops every torrent it runs.
 *
 * @example
 * ```ts
 * import { filter, map } from '@most/core'
 * // refuses every creation: enough to test routing
 * const refuseAll: Engine = (commands) =>
 *   map(() => torrentStartFail('no engine here'), filter(isCreateNewTorrent, commands))
 * ```
 */
export type Engine = (commands: Stream<EngineCommand>) => Stream<EngineFeedback>
