/**
 * The TIPC messages (Torrent Inter-Process Communication), after Kamaelia's
 * TorrentIPC: what patrons say to the engine, what the engine says back, and
 * the envelopes the service uses internally.
 *
 * This module depends on nothing but `status.ts` (the status dictionary, also
 * plain data): every other part of the library (service, patron, engine,
 * operators) speaks these types, so they must stay plain data.
 *
 * @module
 */

import type { TorrentStats } from './status.ts'

export type { TorrentStats } from './status.ts'
export { emptyStats } from './status.ts'

/**
 * An opaque torrent id handed out by the engine. Ids are random strings, not
 * small sequence numbers, so that one patron cannot address another's torrent
 * by guessing (the service refuses such commands anyway).
 *
 * @example
 * ```ts
 * const id: TorrentId = created.torrentid // from a NewTorrentCreated
 * ```
 */
export type TorrentId = string

/**
 * Identity of one patron inside a service. Opaque to users.
 *
 * @example
 * ```ts
 * const patron: PatronId = 1
 * serviceAdd(patron)
 * ```
 */
export type PatronId = number

// ---------------------------------------------------------------------------
// Commands: patron -> engine

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

// ---------------------------------------------------------------------------
// Feedback: engine -> patron

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

// ---------------------------------------------------------------------------
// Internal to the service

/**
 * A patron joins the service.
 *
 * @example
 * ```ts
 * const joined: ServiceAdd = { type: 'ServiceAdd', patron: 1 } // or serviceAdd(1)
 * ```
 */
export interface ServiceAdd {
  /** Discriminant of the union. */
  readonly type: 'ServiceAdd'
  /** The patron concerned. */
  readonly patron: PatronId
}

/**
 * A patron leaves the service.
 *
 * @example
 * ```ts
 * const left: ServiceRemove = { type: 'ServiceRemove', patron: 1 } // or serviceRemove(1)
 * ```
 */
export interface ServiceRemove {
  /** Discriminant of the union. */
  readonly type: 'ServiceRemove'
  /** The patron concerned. */
  readonly patron: PatronId
}

/**
 * A patron's command, wrapped with the patron's identity.
 *
 * @example
 * ```ts
 * const wrapped: ServicePassOn = { type: 'ServicePassOn', patron: 1, message: closeTorrent('t1') }
 * ```
 */
export interface ServicePassOn {
  /** Discriminant of the union. */
  readonly type: 'ServicePassOn'
  /** The patron concerned. */
  readonly patron: PatronId
  /** The patron's command. */
  readonly message: Command
}

/**
 * The service's own inbox.
 *
 * @example
 * ```ts
 * const inbox: ServiceMessage[] = [serviceAdd(1), servicePassOn(1, createNewTorrent(torrentBytes)), serviceRemove(1)]
 * ```
 */
export type ServiceMessage = ServiceAdd | ServiceRemove | ServicePassOn

/**
 * Any TIPC message.
 *
 * @example
 * ```ts
 * const log = (m: Message) => console.log(m.type)
 * ```
 */
export type Message = Command | Feedback | ServiceMessage

// ---------------------------------------------------------------------------
// Constructors

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
 * Build a {@link ServiceAdd}.
 * @example
 * ```ts
 * serviceAdd(1)
 * ```
 */
export const serviceAdd = (patron: PatronId): ServiceAdd => ({ type: 'ServiceAdd', patron })

/**
 * Build a {@link ServiceRemove}.
 * @example
 * ```ts
 * serviceRemove(1)
 * ```
 */
export const serviceRemove = (patron: PatronId): ServiceRemove => ({ type: 'ServiceRemove', patron })

/**
 * Build a {@link ServicePassOn}.
 * @example
 * ```ts
 * servicePassOn(1, closeTorrent('t1'))
 * ```
 */
export const servicePassOn = (patron: PatronId, message: Command): ServicePassOn => ({
  type: 'ServicePassOn',
  patron,
  message
})

// ---------------------------------------------------------------------------
// Type guards

const is =
  <T extends { type: string }>(type: T['type']) =>
  (m: unknown): m is T =>
    typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type

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
 * True for a {@link ServiceAdd}.
 * @example
 * ```ts
 * isServiceAdd(serviceAdd(1)) // true
 * ```
 */
export const isServiceAdd = is<ServiceAdd>('ServiceAdd')
/**
 * True for a {@link ServiceRemove}.
 * @example
 * ```ts
 * isServiceRemove(serviceRemove(1)) // true
 * ```
 */
export const isServiceRemove = is<ServiceRemove>('ServiceRemove')
/**
 * True for a {@link ServicePassOn}.
 * @example
 * ```ts
 * if (isServicePassOn(m)) console.log(m.patron, m.message.type)
 * ```
 */
export const isServicePassOn = is<ServicePassOn>('ServicePassOn')

/**
 * True for any of the three replies that answer a {@link CreateNewTorrent}.
 * @example
 * ```ts
 * if (isCreationReply(m)) pending.shift()
 * ```
 */
export const isCreationReply = (m: unknown): m is CreationReply =>
  isNewTorrentCreated(m) || isTorrentStartFail(m) || isTorrentAlreadyDownloading(m)
