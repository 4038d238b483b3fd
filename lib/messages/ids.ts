/**
 * The two ids every TIPC message names: a torrent's, handed out by the
 * engine, and a patron's, handed out by the service.
 *
 * @module
 */

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
