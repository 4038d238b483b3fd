/**
 * Opening peer connections: dialling out over TCP, or raced over TCP and uTP
 * with the outgoing handshake (plaintext or MSE) the encryption policy picks,
 * and adopting a connection the listener accepted once its handshake named a
 * torrent. Reads go straight to the wire's parser from one shared buffer.
 *
 * @internal
 * @module
 */
import net from 'node:net'
import { feedWire, sharedRead } from './parser.ts'
import { needsLibraryParser, sentPayloadOffer } from './protocol-internals.ts'
import { CappedWire } from './capped-wire.ts'
import { Peer, type PeerOptions } from './peer.ts'
import { RaceSocket, type DialTransports, type PeerSocket } from './transport.ts'
import { peEnabledFor, type MsePolicy } from './mse-policy.ts'
import { openOutgoing } from './mse-outgoing.ts'

/**
 * Open an outgoing connection; the handshake is sent once TCP connects.
 *
 * @example
 * ```ts
 * const p = connectPeer('127.0.0.1', 6881, { infoHash, peerId, pieceCount, source: 'manual', address: '127.0.0.1:6881', handler })
 * ```
 */
export const connectPeer = (host: string, port: number, opts: PeerOptions): Peer => {
  const wire = new CappedWire('tcpOutgoing')
  // Reads go straight to the wire's parsers from one shared buffer (parser.ts).
  const socket = net.connect({ host, port, onread: sharedRead((view) => readInto(peer, view)) })
  const peer = new Peer(socket, opts, wire)
  wire.pipe(socket)
  socket.once('connect', () => {
    if (!peer.closed) peer.sendHandshake()
  })
  return peer
}

/** How {@link dialPeer} reaches a peer. */
export interface DialVia {
  readonly transports: DialTransports
  /** Outgoing encryption policy; null: plaintext handshakes only. */
  readonly mse: MsePolicy | null
}

/**
 * Open an outgoing connection raced over the transports of `via` (the first
 * to connect is kept), opened with the handshake `via.mse` picks for the
 * address; the outcome is reported back to the policy.
 *
 * @example
 * ```ts
 * const p = dialPeer('198.51.100.7', 6881, opts, { transports: { tcp: true, utp: endpoint }, mse: new MsePolicy('enabled') })
 * ```
 */
export const dialPeer = (host: string, port: number, opts: PeerOptions, via: DialVia): Peer => {
  const handshake = via.mse?.first(opts.address) ?? 'plaintext'
  const wire = new CappedWire('tcpOutgoing', peEnabledFor(handshake))
  const socket = new RaceSocket(host, port, via.transports, (view) => readInto(peer, view))
  const peer = new Peer(socket, opts, wire)
  let connected = false
  // Closed after connecting and before the handshake, by either side: a refused obfuscated handshake is
  // retried in plaintext at once (as libtorrent does), not after the redial back-off.
  peer.onRefused(() => connected && via.mse !== null &&
    via.mse.failed(opts.address, handshake, sentPayloadOffer(wire) ? 'payload-offer' : 'handshake') !== null)
  wire.pipe(socket)
  socket.once('connect', () => {
    connected = true
    if (peer.closed) return
    openOutgoing(wire, handshake, {
      infoHash: opts.infoHash,
      peerId: opts.peerId,
      sendHandshake: () => peer.sendHandshake(),
      transport: socket,
      ...(opts.handshakeTimeout !== undefined ? { timeoutMs: opts.handshakeTimeout } : {})
    }).then(
      () => via.mse?.succeeded(opts.address, handshake),
      (e: Error) => peer.close(e.message)
    )
  })
  return peer
}

/**
 * One socket read (a view valid only during the call) into `wire`: through
 * the copy-free parser, or the library's while it needs it (MSE, handshake).
 * Throws what a parser or handler throws.
 */
export const feedRead = (wire: CappedWire, view: Uint8Array): void => {
  if (needsLibraryParser(wire)) wire.write(Buffer.from(view))
  else feedWire(wire, view, true)
}

/** One socket read for the peer's wire. */
const readInto = (peer: Peer, view: Uint8Array): void => {
  if (peer.closed) return
  try {
    feedRead(peer.wire, view)
  } catch (e) {
    // What the stream pipe did: a throwing parser or handler ends this peer, not the process.
    peer.close(`wire: ${(e as Error).message}`)
  }
}

/** Adopt an incoming connection for a torrent once its handshake is known. */
export const adoptIncoming = (socket: PeerSocket, wire: CappedWire, remoteId: string, opts: PeerOptions): Peer => {
  const peer = new Peer(socket, opts, wire)
  peer.acceptHandshake(remoteId)
  return peer
}
