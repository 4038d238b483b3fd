/**
 * The BitTorrent engine: `torrentClient(options)` is an {@link Engine}, a
 * function from a stream of commands to a stream of feedback.
 *
 * @example
 * ```ts
 * import { torrentClient } from 'torrent-patron/lib/engine/index.ts'
 * const engine = torrentClient({ port: 6881, downloadFolder: 'downloads' })
 * ```
 *
 * @module
 */
export { torrentClient, type ClientOptions, type Engine, type TorrentHandle } from './client/client.ts'
export type { PeerInfo } from './torrent/torrent.ts'
export { DHT_ENV, type DhtOption, type DhtSettings } from './swarm/client-dht.ts'
export type { LsdSettings } from './swarm/client-lsd.ts'
export type { AdmissionSettings } from './policy/admission.ts'
export type { PortMappingSettings } from './nat/port-mapper.ts'
export type { PeerSource } from './wire/peer.ts'
export type { Transport } from './wire/transport.ts'
export type { EncryptionLevel, PeerEncryption } from './wire/mse-policy.ts'
export { RateMeter } from './policy/rate-meter.ts'
