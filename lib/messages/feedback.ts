/**
 * The TIPC feedback, engine -> patron: the replies to a creation, the status
 * updates and the refusals, with their constructors and type guards.
 *
 * @module
 */

import type { TorrentStats } from '../status.ts'
import { is } from './guard.ts'
import type { TorrentId } from './ids.ts'
import type { Command, CreateNewTorrent } from './commands.ts'

/**
 * The torrent was created and is running.
 *
 * @example
 * ```ts
 * const reply: NewTorrentCreated = {
 *   type: 'NewTorrentCreated',
 *   torrentid: '5f0c2e9a41b7d3a8c6e1f024',
 *   savefolder: '/home/me/downloads',
 *   infohash: 'c9e15763f722f23e98a29decdfae341b98d53056',
 *   name: 'photos'
 * }
 * ```
 */
export interface NewTorrentCreated {
  /** Discriminant of the union. */
  readonly type: 'NewTorrentCreated'
  /** Id of the torrent, as handed out by the engine. */
  readonly torrentid: TorrentId
  /** Absolute path of the folder the data is saved in. */
  readonly savefolder: string
  /** Hex v1 info hash, when known. */
  readonly infohash?: string
  /** The torrent's name, when known (magnets may not know it yet). */
  readonly name?: string
}

/**
 * The torrent could not be started; `reason` says why, in words.
 *
 * @example
 * ```ts
 * const reply: TorrentStartFail = { type: 'TorrentStartFail', reason: 'metainfo: missing "info" dictionary' }
 * ```
 */
export interface TorrentStartFail {
  /** Discriminant of the union. */
  readonly type: 'TorrentStartFail'
  /** Why, in words a user can act on. */
  readonly reason: string
}

/**
 * A torrent with the same info hash already runs; this is its id.
 *
 * @example
 * ```ts
 * const reply: TorrentAlreadyDownloading = { type: 'TorrentAlreadyDownloading', torrentid: '5f0c2e9a41b7d3a8c6e1f024' }
 * ```
 */
export interface TorrentAlreadyDownloading {
  /** Discriminant of the union. */
  readonly type: 'TorrentAlreadyDownloading'
  /** Id of the torrent, as handed out by the engine. */
  readonly torrentid: TorrentId
}

/**
 * Periodic (and on state change) statistics of a running torrent.
 *
 * @example
 * ```ts
 * const update: TorrentStatusUpdate = {
 *   type: 'TorrentStatusUpdate',
 *   torrentid: '5f0c2e9a41b7d3a8c6e1f024',
 *   statsdictionary: { ...emptyStats, activity: 'seeding', fractionDone: 1 }
 * }
 * ```
 */
export interface TorrentStatusUpdate {
  /** Discriminant of the union. */
  readonly type: 'TorrentStatusUpdate'
  /** Id of the torrent, as handed out by the engine. */
  readonly torrentid: TorrentId
  /** The statistics, named after the original's status dictionary. */
  readonly statsdictionary: TorrentStats
}

/**
 * The replies that answer a {@link CreateNewTorrent}, one each.
 *
 * @example
 * ```ts
 * const describe = (r: CreationReply): string =>
 *   r.type === 'TorrentStartFail' ? `failed: ${r.reason}` : `running as ${r.torrentid}`
 * ```
 */
export type CreationReply = NewTorrentCreated | TorrentStartFail | TorrentAlreadyDownloading

/**
 * Everything an engine emits. Its {@link TorrentCommandRefused} answers a
 * SetFilePriority for a file the torrent does not have; the service gives
 * it only to the owners that asked for that file.
 *
 * @example
 * ```ts
 * const feedback: Stream<EngineFeedback> = torrentClient()(commands)
 * ```
 */
export type EngineFeedback = CreationReply | TorrentStatusUpdate | TorrentCommandRefused

/**
 * A patron's command was refused: by the service (for example closing a
 * torrent the patron does not own; nothing reached the engine), or by the
 * engine (a SetFilePriority for a file index past the torrent's files).
 *
 * @example
 * ```ts
 * const refused: TorrentCommandRefused = {
 *   type: 'TorrentCommandRefused',
 *   command: closeTorrent('t9'),
 *   reason: 'not your torrent'
 * }
 * ```
 */
export interface TorrentCommandRefused {
  /** Discriminant of the union. */
  readonly type: 'TorrentCommandRefused'
  /** The command that was refused. */
  readonly command: Command
  /** Why, in words a user can act on. */
  readonly reason: string
}

/**
 * Everything a patron's output stream carries.
 *
 * @example
 * ```ts
 * const feedback: Stream<Feedback> = torrentPatron(service)(commands)
 * ```
 */
export type Feedback = EngineFeedback

/**
 * Build a {@link NewTorrentCreated}.
 * @example
 * ```ts
 * newTorrentCreated('t1', '/tmp/dl')
 * ```
 */
export const newTorrentCreated = (
  torrentid: TorrentId,
  savefolder: string,
  extra: { infohash?: string; name?: string } = {}
): NewTorrentCreated => ({ type: 'NewTorrentCreated', torrentid, savefolder, ...extra })

/**
 * Build a {@link TorrentStartFail}.
 * @example
 * ```ts
 * torrentStartFail('metainfo: missing "info" dictionary')
 * ```
 */
export const torrentStartFail = (reason: string): TorrentStartFail => ({ type: 'TorrentStartFail', reason })

/**
 * Build a {@link TorrentAlreadyDownloading}.
 * @example
 * ```ts
 * torrentAlreadyDownloading('t1')
 * ```
 */
export const torrentAlreadyDownloading = (torrentid: TorrentId): TorrentAlreadyDownloading => ({
  type: 'TorrentAlreadyDownloading',
  torrentid
})

/**
 * Build a {@link TorrentStatusUpdate}.
 * @example
 * ```ts
 * torrentStatusUpdate('t1', { ...emptyStats, activity: 'seeding', fractionDone: 1 })
 * ```
 */
export const torrentStatusUpdate = (torrentid: TorrentId, statsdictionary: TorrentStats): TorrentStatusUpdate => ({
  type: 'TorrentStatusUpdate',
  torrentid,
  statsdictionary
})

/**
 * Build a {@link TorrentCommandRefused}.
 * @example
 * ```ts
 * torrentCommandRefused(closeTorrent('t9'), 'not your torrent')
 * ```
 */
export const torrentCommandRefused = (command: Command, reason: string): TorrentCommandRefused => ({
  type: 'TorrentCommandRefused',
  command,
  reason
})

/**
 * True for a {@link NewTorrentCreated}.
 * @example
 * ```ts
 * const created = filter(isNewTorrentCreated, feedback) // Stream<NewTorrentCreated>
 * const ids = map((m) => m.torrentid, created)
 * ```
 */
export const isNewTorrentCreated = is<NewTorrentCreated>('NewTorrentCreated')

/**
 * True for a {@link TorrentStartFail}.
 * @example
 * ```ts
 * const failures = filter(isTorrentStartFail, feedback) // Stream<TorrentStartFail>
 * ```
 */
export const isTorrentStartFail = is<TorrentStartFail>('TorrentStartFail')

/**
 * True for a {@link TorrentAlreadyDownloading}.
 * @example
 * ```ts
 * if (isTorrentAlreadyDownloading(reply)) console.log('already running as', reply.torrentid)
 * ```
 */
export const isTorrentAlreadyDownloading = is<TorrentAlreadyDownloading>('TorrentAlreadyDownloading')

/**
 * True for a {@link TorrentStatusUpdate}.
 * @example
 * ```ts
 * const updates = filter(isTorrentStatusUpdate, feedback) // Stream<TorrentStatusUpdate>
 * const fractions = map((m) => m.statsdictionary.fractionDone, updates)
 * ```
 */
export const isTorrentStatusUpdate = is<TorrentStatusUpdate>('TorrentStatusUpdate')

/**
 * True for a {@link TorrentCommandRefused}.
 * @example
 * ```ts
 * const refusals = filter(isTorrentCommandRefused, feedback)
 * ```
 */
export const isTorrentCommandRefused = is<TorrentCommandRefused>('TorrentCommandRefused')

/**
 * True for any of the three replies that answer a {@link CreateNewTorrent}.
 * @example
 * ```ts
 * if (isCreationReply(m)) pending.shift()
 * ```
 */
export const isCreationReply = (m: unknown): m is CreationReply =>
  isNewTorrentCreated(m) || isTorrentStartFail(m) || isTorrentAlreadyDownloading(m)
