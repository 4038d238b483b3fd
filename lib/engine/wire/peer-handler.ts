/**
 * What a peer connection is told at birth ({@link PeerOptions}) and whom it
 * tells what it hears ({@link PeerHandler}, implemented by the torrent).
 *
 * @internal
 * @module
 */
import type { Bitfield } from './bitfield.ts'
import type { CappedWire } from './capped-wire.ts'
import type { Peer, PeerSource } from './peer.ts'

/** What a torrent hears from its peers. */
export interface PeerHandler {
  onReady(peer: Peer): void
  /** The peer's bitfield arrived; `previous` is what we knew before, when it replaces earlier news. */
  onBitfield(peer: Peer, previous: Bitfield | null): void
  onHave(peer: Peer, piece: number): void
  onChoke(peer: Peer): void
  onUnchoke(peer: Peer): void
  onInterested(peer: Peer): void
  onUninterested(peer: Peer): void
  /** A block arrived. `data` is valid only during the call (a view of a reused read or gather buffer): copy what you keep. */
  onBlock(peer: Peer, piece: number, offset: number, data: Uint8Array): void
  onRequest(peer: Peer, piece: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void): void
  onClose(peer: Peer, reason: string): void
  /** BEP 6: the peer will not serve this request of ours: ask someone else at once. */
  onReject?(peer: Peer, piece: number, offset: number, length: number): void
  /** BEP 6: the peer lets us request `piece` while it chokes us. */
  onAllowedFast?(peer: Peer, piece: number): void
}

export interface PeerOptions {
  readonly infoHash: string
  readonly peerId: string
  readonly pieceCount: number
  readonly source: PeerSource
  readonly address: string
  readonly handler: PeerHandler
  /** Give up on a connection that has not completed its handshake by then (ms). */
  readonly handshakeTimeout?: number
  /** See {@link BODY_STALL_TIMEOUT} (ms; tests shorten it). */
  readonly bodyStallTimeout?: number
  /** Set the BEP 5 DHT bit in our handshake (we run a DHT node). */
  readonly dht?: boolean
  /** Set the BEP 52 v2 bit in our handshake (a torrent with a v2 half). */
  readonly v2?: boolean
  /** The connection speaks v2 from the start: a v2-only torrent, or an incoming connection upgraded (BEP 52). */
  readonly speaksV2?: boolean
  /** A hybrid's v2 swarm key (first 20 bytes of its v2 hash, hex): a peer answering our handshake with it upgrades the connection to v2. */
  readonly infoHashV2?: string
  /** Offer the BEP 6 fast extension in our handshake (default true); on when the peer offers it too. */
  readonly fast?: boolean
  /** Clock of the BEP 6 retry of allowed-fast pieces a choking peer rejected (ms; default Date.now). */
  readonly now?: () => number
  /** Registers BEP 10 extensions on the wire; called before our handshake goes out. */
  readonly extend?: (wire: CappedWire) => void
}

