/**
 * TCP connections for peers: dialling out (reads go straight to the wire's
 * parser from one shared buffer) and adopting a connection the listener
 * accepted once its handshake named a torrent.
 *
 * @internal
 * @module
 */
import net from 'node:net'
import { feedWire, sharedRead } from './parser.ts'
import { needsLibraryParser } from './protocol-internals.ts'
import { CappedWire } from './capped-wire.ts'
import { Peer, type PeerOptions } from './peer.ts'

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

/** One socket read (a view valid only during the call) for the peer's wire. */
const readInto = (peer: Peer, view: Uint8Array): void => {
  if (peer.closed) return
  try {
    if (needsLibraryParser(peer.wire)) peer.wire.write(Buffer.from(view))
    else feedWire(peer.wire, view, true)
  } catch (e) {
    // What the stream pipe did: a throwing parser or handler ends this peer, not the process.
    peer.close(`wire: ${(e as Error).message}`)
  }
}

/** Adopt an incoming connection for a torrent once its handshake is known. */
export const adoptIncoming = (socket: net.Socket, wire: CappedWire, remoteId: string, opts: PeerOptions): Peer => {
  const peer = new Peer(socket, opts, wire)
  peer.acceptHandshake(remoteId)
  return peer
}

