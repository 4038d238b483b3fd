/**
 * The TIPC messages (Torrent Inter-Process Communication), after Kamaelia's
 * TorrentIPC: what patrons say to the engine, what the engine says back, and
 * the envelopes the service uses internally.
 *
 * The types, their constructors and their type guards sit in `messages/`, a
 * file per direction: `commands.ts` (patron -> engine), `feedback.ts`
 * (engine -> patron), `envelopes.ts` (internal to the service), with the ids
 * in `ids.ts`; this module gathers them. They depend on nothing but each
 * other and `status.ts` (the status dictionary, also plain data): every other
 * part of the library (service, patron, engine, operators) speaks these
 * types, so they must stay plain data.
 *
 * @module
 */

import type { Command } from './messages/commands.ts'
import type { Feedback } from './messages/feedback.ts'
import type { ServiceMessage } from './messages/envelopes.ts'

export type { TorrentStats } from './status.ts'
export { emptyStats } from './status.ts'
export type { TorrentId, PatronId } from './messages/ids.ts'
export type { CreateNewTorrent, FilePriority, SetFilePriority, CloseTorrent, EngineCommand, Command } from './messages/commands.ts'
export { createNewTorrent, closeTorrent, setFilePriority, isCreateNewTorrent, isCloseTorrent, isSetFilePriority } from './messages/commands.ts'
export type {
  NewTorrentCreated,
  TorrentStartFail,
  TorrentAlreadyDownloading,
  TorrentStatusUpdate,
  CreationReply,
  EngineFeedback,
  TorrentCommandRefused,
  Feedback
} from './messages/feedback.ts'
export {
  newTorrentCreated,
  torrentStartFail,
  torrentAlreadyDownloading,
  torrentStatusUpdate,
  torrentCommandRefused,
  isNewTorrentCreated,
  isTorrentStartFail,
  isTorrentAlreadyDownloading,
  isTorrentStatusUpdate,
  isTorrentCommandRefused,
  isCreationReply
} from './messages/feedback.ts'
export type { ServiceAdd, ServiceRemove, ServicePassOn, ServiceMessage } from './messages/envelopes.ts'
export { serviceAdd, serviceRemove, servicePassOn, isServiceAdd, isServiceRemove, isServicePassOn } from './messages/envelopes.ts'

/**
 * Any TIPC message.
 *
 * @example
 * ```ts
 * const log = (m: Message) => console.log(m.type)
 * ```
 */
export type Message = Command | Feedback | ServiceMessage
