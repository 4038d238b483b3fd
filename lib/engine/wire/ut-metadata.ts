/**
 * BEP 9 `ut_metadata` as a bittorrent-protocol 5 extension: serves our info
 * dictionary in 16 KiB pieces and lets a {@link MetadataFetcher} ask a peer
 * for pieces. Written here rather than using the npm `ut_metadata` 4.x
 * because that one trusts the piece index of incoming data (an out-of-range
 * index throws a RangeError out of the wire's parser), serves any index
 * asked, and retries a lying peer instead of leaving it; 5.x needs Node 22.
 *
 * @module
 */
import { EventEmitter } from 'node:events'
import { readDictHead } from './bencode-head.ts'
import type { ExtensionConstructor, ExtensionWire, WireExtension } from './extension-wire.ts'

/** BEP 9 piece size. */
export const METADATA_PIECE_SIZE = 16 * 1024
/** Largest info dictionary we serve or accept (libtorrent's default limit is in the same range). */
export const MAX_METADATA_SIZE = 16 * 1024 * 1024
/** The extension's name in the BEP 10 handshake. */
export const UT_METADATA = 'ut_metadata'

const MsgType = { Request: 0, Data: 1, Reject: 2 } as const

/** Number of 16 KiB pieces of a metadata of `size` bytes. */
export const metadataPieceCount = (size: number): number => Math.ceil(size / METADATA_PIECE_SIZE)

/** Bytes in piece `piece` of a metadata of `size` bytes. */
export const metadataPieceLength = (size: number, piece: number): number =>
  Math.min(METADATA_PIECE_SIZE, size - piece * METADATA_PIECE_SIZE)

/** Options of {@link utMetadata}. */
export interface UtMetadataOptions {
  /**
   * The info dictionary we serve, or a getter for it: a torrent started from
   * a magnet has none until it fetched one (until then every request is rejected).
   */
  readonly info?: Uint8Array | null | (() => Uint8Array | null)
  /** Cap on a peer's advertised metadata_size (default {@link MAX_METADATA_SIZE}). */
  readonly maxMetadataSize?: number
  /** How many requests we serve to one peer before rejecting (a peer looping on requests costs us upload). */
  readonly maxServedPerPeer?: number
}

/**
 * Events of a {@link UtMetadata} extension instance:
 * - `size` (size: number): the peer has metadata of that many bytes and speaks ut_metadata;
 * - `data` (piece: number, bytes: Uint8Array): a well-formed piece of the advertised size;
 * - `reject` (piece: number): the peer refused a piece;
 * - `violation` (reason: string): a malformed or inconsistent message (ignored, counted by callers).
 */
export interface UtMetadataEvents {
  size: [size: number]
  data: [piece: number, bytes: Uint8Array]
  reject: [piece: number]
  violation: [reason: string]
}

/** Per-wire BEP 9 state; created by `wire.use(utMetadata(...))`, reachable as `wire.ut_metadata`. */
export class UtMetadata extends EventEmitter<UtMetadataEvents> implements WireExtension {
  /** Metadata size the peer advertised (validated), or null if it has none or no ut_metadata. */
  peerMetadataSize: number | null = null
  /** Requests from this peer we served. */
  served = 0
  readonly wire: ExtensionWire
  private readonly getInfo: () => Uint8Array | null
  private readonly maxSize: number
  private readonly maxServed: number

  constructor (wire: ExtensionWire, opts: UtMetadataOptions = {}) {
    super()
    this.wire = wire
    const info = opts.info
    this.getInfo = typeof info === 'function' ? info : () => info ?? null
    this.maxSize = opts.maxMetadataSize ?? MAX_METADATA_SIZE
    this.maxServed = opts.maxServedPerPeer ?? 4096
    const ours = this.getInfo()
    // Advertised in our extended handshake, which the wire sends after the BitTorrent handshake.
    if (ours !== null && ours.length > 0 && ours.length <= this.maxSize) wire.extendedHandshake['metadata_size'] = ours.length
  }

  /** True once the peer's extended handshake said it speaks ut_metadata. */
  get peerSupports (): boolean {
    return (this.wire.peerExtendedMapping[UT_METADATA] ?? 0) > 0
  }

  onExtendedHandshake (handshake: Record<string, unknown>): void {
    const size = handshake['metadata_size']
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0 || size > this.maxSize) {
      this.peerMetadataSize = null
      if (size !== undefined) this.emit('violation', `bad metadata_size ${String(size)}`)
      return
    }
    this.peerMetadataSize = size
    this.emit('size', size)
  }

  onMessage (payload: Uint8Array): void {
    const head = readDictHead(payload)
    if (head === null) { this.emit('violation', 'undecodable ut_metadata message'); return }
    const type = head.fields.get('msg_type')
    const piece = head.fields.get('piece')
    switch (type) {
      case MsgType.Request: this.onRequest(piece); return
      case MsgType.Data: this.onData(piece, head.fields.get('total_size'), payload.subarray(head.end)); return
      case MsgType.Reject:
        if (typeof piece === 'number') this.emit('reject', piece)
        else this.emit('violation', 'reject without piece')
        return
      default:
        // BEP 9: unknown message types are ignored.
    }
  }

  /** Ask the peer for one piece (no-op if it does not speak ut_metadata). */
  request (piece: number): void {
    if (!this.peerSupports || this.wire.destroyed === true) return
    this.send(`d8:msg_typei0e5:piecei${piece}ee`)
  }

  private onRequest (piece: unknown): void {
    if (typeof piece !== 'number') { this.emit('violation', 'request without integer piece'); return }
    const info = this.getInfo()
    const count = info === null ? 0 : metadataPieceCount(info.length)
    if (info === null || piece < 0 || piece >= count || this.served >= this.maxServed) {
      this.send(`d8:msg_typei2e5:piecei${piece}ee`)
      return
    }
    this.served++
    const start = piece * METADATA_PIECE_SIZE
    const bytes = info.subarray(start, start + metadataPieceLength(info.length, piece))
    this.send(`d8:msg_typei1e5:piecei${piece}e10:total_sizei${info.length}ee`, bytes)
  }

  private onData (piece: unknown, total: unknown, bytes: Uint8Array): void {
    const size = this.peerMetadataSize
    if (size === null) { this.emit('violation', 'data before a valid metadata_size'); return }
    if (typeof piece !== 'number' || piece < 0 || piece >= metadataPieceCount(size)) {
      this.emit('violation', `data for piece ${String(piece)} out of range`); return
    }
    if (total !== undefined && total !== size) { this.emit('violation', `total_size ${String(total)} != ${size}`); return }
    if (bytes.length !== metadataPieceLength(size, piece)) {
      this.emit('violation', `piece ${piece} has ${bytes.length} bytes`); return
    }
    // Copy: the payload is a view into the wire's receive buffer.
    this.emit('data', piece, Uint8Array.prototype.slice.call(bytes))
  }

  private send (head: string, trailer?: Uint8Array): void {
    if (this.wire.destroyed === true || !this.peerSupports) return
    const h = Buffer.from(head, 'latin1')
    const msg = trailer === undefined ? h : Buffer.concat([h, trailer])
    try {
      this.wire.extended(UT_METADATA, msg)
    } catch {
      // The wire throws only if the peer never mapped ut_metadata: nothing to send to.
    }
  }
}

/**
 * A `ut_metadata` extension class for `wire.use()`.
 *
 * @example
 * const wire = new Wire()
 * wire.use(utMetadata({ info: () => torrent.metainfo?.infoBytes ?? null }))
 * // later: (wire.ut_metadata as UtMetadata).request(0)
 */
export function utMetadata (opts: UtMetadataOptions = {}): ExtensionConstructor<UtMetadata> {
  class BoundUtMetadata extends UtMetadata {
    constructor (wire: ExtensionWire) { super(wire, opts) }
  }
  Object.defineProperty(BoundUtMetadata.prototype, 'name', { value: UT_METADATA })
  return BoundUtMetadata as unknown as ExtensionConstructor<UtMetadata>
}

/** The wire's ut_metadata extension, if `wire.use(utMetadata(...))` was called. */
export function utMetadataOf (wire: object): UtMetadata | null {
  const ext = (wire as Record<string, unknown>)[UT_METADATA]
  return ext instanceof UtMetadata ? ext : null
}
