/**
 * The slice of a bittorrent-protocol 5 `Wire` that the discovery extensions
 * use. Kept structural so these modules build and test without depending on
 * the full wire declaration, and so a test double can stand in for a Wire.
 *
 * @module
 */

/** What `wire.use(Extension)` hands to an extension's constructor. */
export interface ExtensionWire {
  /** Our extended handshake (BEP 10) before it is sent; extensions add keys such as `metadata_size`. */
  extendedHandshake: Record<string, unknown>
  /** Peer's extension name -> message id, from its extended handshake. */
  readonly peerExtendedMapping: Record<string, number>
  /** Send an extended message by extension name (mapped through the peer's ids). */
  extended(ext: string | number, payload: Uint8Array | object): void
  destroy(): unknown
  readonly destroyed?: boolean
}

/** An extension instance as bittorrent-protocol drives it. */
export interface WireExtension {
  onHandshake?(infoHash: string, peerId: string, extensions: Record<string, boolean>): void
  onExtendedHandshake?(handshake: Record<string, unknown>): void
  onMessage?(payload: Uint8Array): void
}

/** A class `wire.use()` accepts: constructed with the wire, named on its prototype. */
export interface ExtensionConstructor<T extends WireExtension = WireExtension> {
  new (wire: ExtensionWire): T
  prototype: T & { name: string }
}
