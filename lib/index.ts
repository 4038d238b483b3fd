/**
 * torrent-patron: BitTorrent as @most/core streams.
 *
 * - {@link torrentClient} is the engine: `Stream<EngineCommand> -> Stream<EngineFeedback>`.
 * - {@link torrentService} shares one engine among many patrons and routes every reply to its owner.
 * - {@link torrentPatron} is one private view of a service: `Stream<Command> -> Stream<Feedback>`.
 *
 * @example
 * ```ts
 * import { now, runEffects, tap } from '@most/core'
 * import { newDefaultScheduler } from '@most/scheduler'
 * import { torrentClient, torrentService, torrentPatron, createNewTorrent } from 'torrent-patron'
 * const service = torrentService(torrentClient({ downloadFolder: 'downloads' }))
 * const feedback = torrentPatron(service)(now(createNewTorrent(torrentBytes)))
 * await runEffects(tap((m) => console.log(m.type), feedback), newDefaultScheduler())
 * ```
 *
 * @module
 */
export * from './messages.ts'
export { torrentService, sharedService, type Engine, type TorrentService, type PatronConnection, type ServiceSnapshot, type ServiceState } from './service/index.ts'
export { torrentPatron, type PatronOf } from './patron.ts'
export { defaultService } from './default-service.ts'
export { torrentClient, type ClientOptions, type TorrentHandle, type PeerInfo, type PeerSource, type Transport, type EncryptionLevel, type PeerEncryption } from './engine/index.ts'
export type { AdmissionSettings, DhtOption, DhtSettings, LsdSettings, PortMappingSettings } from './engine/index.ts'
export { makeTorrent, defaultPieceLength, makeSeedCommand, type MakeTorrentOptions, type SeedCommand, type SeedCommandOptions } from './maker/index.ts'
export { parseMetainfo, parseMagnet } from './engine/metainfo/index.ts'
export type { PieceDeadline } from './engine/download/deadlines.ts'
export { TorrentStreams, type RangeReadable, type StreamFile, type ReadStreamOptions, type StreamsTorrent } from './engine/stream/torrent-streams.ts'
export { startStreamServer, type ServedTorrent, type ServedFile, type ServedProgress, type TorrentCatalog, type StreamServer, type StreamServerOptions } from './stream/http-server.ts'
export { servedTorrent, type TorrentReaders } from './stream/serve-torrent.ts'
export type { Metainfo, MetainfoV2, V2File, Magnet, FileEntry, ParseResult } from './engine/contracts.ts'
export type { ParseOptions, MagnetOptions } from './engine/metainfo/index.ts'
