/**
 * The BEP 10 extensions every peer wire of the engine carries, registered
 * before our handshake (the extended handshake lists what is registered then).
 *
 * - `ut_metadata` (BEP 9) serving the torrent's info dictionary, so a peer
 *   that started from a magnet can fetch it from us; a torrent still fetching
 *   its own metadata serves nothing (every request is rejected).
 * - `p`: our listen port, so the other side knows where to dial us back
 *   (and its PEX can hand our address out) even when we dialled it.
 * - `reqq`: how many requests we queue for one peer before we close it
 *   (the upload queue's bound), so a peer can fill its pipeline up to it.
 *
 * @internal
 * @module
 */
// Kept in the emitted .d.ts, where tsc rewrites it to the package's types/ (shipped): consumers need these typings too.
/// <reference path="../../../types/bittorrent-protocol.d.ts" preserve="true" />
import type Wire from 'bittorrent-protocol'
import { utMetadata, MAX_METADATA_SIZE } from './ut-metadata.ts'

/** What {@link useWireExtensions} needs to know. */
export interface WireExtensionsOptions {
  /** The bencoded info dictionary we serve, or null while we do not have it. */
  readonly info: () => Uint8Array | null
  /** Our TCP listen port (left out of the handshake when not a valid port). */
  readonly port: number
  /** Requests we queue for one peer (`reqq`); left out when not given. */
  readonly requestQueue?: number
}

/**
 * Register our extensions on `wire`; call before `wire.handshake()`.
 *
 * @example
 * ```ts
 * useWireExtensions(wire, { info: () => meta.infoBytes, port: 6881 })
 * wire.handshake(infoHash, peerId)
 * ```
 */
export const useWireExtensions = (wire: Wire, opts: WireExtensionsOptions): void => {
  wire.use(utMetadata({ info: opts.info }) as unknown as Parameters<Wire['use']>[0])
  if (Number.isInteger(opts.port) && opts.port > 0 && opts.port <= 65535) wire.extendedHandshake['p'] = opts.port
  if (opts.requestQueue !== undefined) wire.extendedHandshake['reqq'] = opts.requestQueue
}

/**
 * Send our extended handshake again with `metadata_size` (BEP 10 lets a
 * handshake be repeated): a wire whose handshake went out before we had the
 * info dictionary (a magnet's, handed over to its torrent) tells the peer it
 * can now fetch it from us. The whole handshake is sent, every extension id
 * with it (a client may drop an extension a later handshake leaves out).
 * Nothing is sent to a peer that does not speak BEP 10.
 *
 * @example
 * ```ts
 * announceMetadataSize(wire, meta.infoBytes.length)
 * ```
 */
export const announceMetadataSize = (wire: Wire, size: number): void => {
  if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_METADATA_SIZE || wire.peerExtensions?.extended !== true) return
  wire.extendedHandshake['metadata_size'] = size
  const m: Record<string, number> = {}
  // Ids in order: a name registered again (PEX taken over by the torrent) keeps its latest id.
  for (const [id, name] of Object.entries(wire.extendedMapping)) m[name] = Number(id)
  wire.extended(0, { ...wire.extendedHandshake, m })
}
