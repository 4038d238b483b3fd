/**
 * BEP 52's upgrade rules: which info hash and reserved bits a handshake
 * carries, and whether the connection then speaks v1 or v2.
 *
 * A hybrid torrent lives in two swarms, the v1 one (its SHA-1 info hash) and
 * the v2 one (the first 20 bytes of its SHA-256 info hash). As libtorrent
 * 2.0.8 does it:
 *
 * - We dial with the v1 hash and the v2 bit set: an offer to upgrade. A peer
 *   that takes it answers with the v2 hash and the connection speaks v2; a
 *   peer that answers with the v1 hash (a v1-only client, whatever its bits)
 *   keeps it v1. The initiator goes by the hash answered, never by the bits.
 * - An incoming handshake naming the v2 hash, or the v1 hash with the v2 bit,
 *   makes a v2 connection: we answer with the v2 hash. One naming the v1 hash
 *   without the bit stays v1: we answer with the v1 hash and the v2 bit (the
 *   offer, harmless to a v1 client).
 *
 * A v2-only torrent has one swarm: every connection names its v2 hash and
 * speaks v2, and the engine sets the v2 bit on them all. A v1 torrent never
 * speaks v2, and a handshake naming a hash it does not have is not its own.
 *
 * Pure.
 *
 * @internal
 * @module
 */
import type { Metainfo } from '../contracts.ts'

/** The torrent fields the rules read. */
export type UpgradeTorrent = Pick<Metainfo, 'infoHash'> & Partial<Pick<Metainfo, 'version' | 'v2'>>

/** Our side of a handshake. */
export interface OurHandshake {
  /** The info hash we send (hex, 20 bytes). */
  readonly infoHash: string
  /** Set the v2 bit (reserved byte 7, 0x10). */
  readonly v2Bit: boolean
  /** The connection speaks v2 from its handshake on. */
  readonly speaksV2: boolean
  /** Dialled hybrid: the answer that upgrades the connection (the v2 swarm key). */
  readonly upgradeKey?: string
}

/**
 * A hybrid's v2 swarm key: the first 20 bytes of its v2 info hash (hex);
 * null for a torrent with one swarm (v1, or v2-only, whose `infoHash` is that key).
 *
 * @example
 * const key = v2SwarmKey(meta) // 'a5d1...' for a hybrid
 * if (key !== null) byInfoHash.set(key, id)
 */
export function v2SwarmKey (meta: UpgradeTorrent): string | null {
  return meta.version === 'hybrid' && meta.v2 !== undefined ? meta.v2.infoHash.slice(0, 40) : null
}

/**
 * The handshake of a connection we open.
 *
 * @example
 * const h = dialHandshake(meta)
 * wire.handshake(h.infoHash, peerId, { v2: h.v2Bit })
 */
export function dialHandshake (meta: UpgradeTorrent): OurHandshake {
  const key = v2SwarmKey(meta)
  if (key !== null) return { infoHash: meta.infoHash, v2Bit: true, speaksV2: false, upgradeKey: key }
  const v2 = meta.version === 'v2'
  return { infoHash: meta.infoHash, v2Bit: v2, speaksV2: v2 }
}

/**
 * Our answer to an incoming handshake that named `named` (hex), with the v2
 * bit or not; null when `named` is not a hash of this torrent.
 *
 * @example
 * const h = answerHandshake(meta, infoHash, wire.peerV2)
 * if (h === null) socket.destroy()
 */
export function answerHandshake (meta: UpgradeTorrent, named: string, peerBit: boolean): OurHandshake | null {
  const key = v2SwarmKey(meta)
  if (key !== null && (named === key || (named === meta.infoHash && peerBit))) return { infoHash: key, v2Bit: false, speaksV2: true }
  if (named !== meta.infoHash) return null
  const v2 = meta.version === 'v2'
  return { infoHash: meta.infoHash, v2Bit: v2 || key !== null, speaksV2: v2 }
}
