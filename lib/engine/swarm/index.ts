/**
 * Peer and metadata discovery for the engine: BEP 9 (ut_metadata and a
 * verifying fetcher), BEP 5 (DHT), BEP 11 (PEX), BEP 14 (LSD) and the
 * per-source peer counter. See docs/discovery.md for how the engine plugs
 * them in.
 *
 * @module
 */
export {
  utMetadata, utMetadataOf, UtMetadata, METADATA_PIECE_SIZE, MAX_METADATA_SIZE, UT_METADATA,
  metadataPieceCount, metadataPieceLength, type UtMetadataOptions, type UtMetadataEvents
} from '../wire/ut-metadata.ts'
export { createMetadataFetcher, type MetadataFetcher, type MetadataFetcherOptions } from '../torrent/metadata-fetcher.ts'
export {
  createDht, loadDhtState, saveDhtState, PUBLIC_BOOTSTRAP,
  type Dht, type DhtOptions, type DhtState, type DhtPeer, type DhtEvents
} from './dht.ts'
export { createPex, UtPex, UT_PEX, PexFlag, type PexSwarm, type PexOptions, type PexEvents, type PexPeerFlags } from './pex.ts'
export { createLsd, parseLsdAnnounce, LSD_GROUP, LSD_PORT, type Lsd, type LsdOptions, type LsdEvents } from './lsd.ts'
export { PeerSources, PEER_SOURCES, type PeerSource } from './peer-sources.ts'
export { ClientDht, resolveDhtOption, DHT_ENV, type DhtOption, type DhtSettings, type DhtTorrentHooks, type DhtTorrentSession } from './client-dht.ts'
export { ClientLsd, type LsdSettings, type LsdTorrentSession } from './client-lsd.ts'
export { createTorrentPex, type TorrentPex, type TorrentPexOptions, type PexWire } from './torrent-pex.ts'
export { selfAddressFilter } from './self-address.ts'
export type { ExtensionWire, WireExtension, ExtensionConstructor } from '../wire/extension-wire.ts'
