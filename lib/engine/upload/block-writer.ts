/**
 * Sending a block we upload straight to the peer's socket, with a callback
 * once the socket has handed its bytes to the kernel. The read cache uses it
 * to recycle a span's buffer only when no view of it is still queued
 * anywhere; the wire's own stream pipe gives no such signal.
 *
 * The bytes, and the wire's bookkeeping, are what `respond` would produce
 * (bittorrent-protocol's piece message, its peerRequests entry removed, its
 * upload counters and 'upload' event). The direct path is taken only when the
 * wire has nothing queued for the socket, so message order is kept; otherwise
 * the block goes through `respond` and `flushed` is never called.
 *
 * @internal
 * @module
 */
import type Wire from 'bittorrent-protocol'
import { mayBypass, takePeerRequest } from '../wire/protocol-internals.ts'
import type { PeerSocket } from '../wire/transport.ts'

/**
 * Send `block` as the answer to the peer's request (piece, offset). Returns
 * true when it went straight to the socket: `flushed` runs once the socket is
 * done with it (written, or the socket failed). Returns false when it went
 * through `respond` (or was not due: a cancelled request); `flushed` never runs.
 *
 * @example
 * ```ts
 * if (!sendBlock(peer.wire, peer.socket, respond, piece, offset, view, release)) { ... keep the buffer }
 * ```
 */
export const sendBlock = (
  wire: Wire,
  socket: PeerSocket,
  respond: (err: Error | null, buf?: Uint8Array) => void,
  piece: number,
  offset: number,
  block: Uint8Array,
  flushed: () => void
): boolean => {
  if (!mayBypass(wire) || socket.destroyed || !socket.writable) {
    respond(null, block)
    return false
  }
  // What the library's respond checks: answer only a request still pending.
  if (!takePeerRequest(wire, piece, offset, block.length)) return false
  const header = Buffer.allocUnsafe(13)
  header.writeUInt32BE(9 + block.length, 0)
  header[4] = 7
  header.writeUInt32BE(piece, 5)
  header.writeUInt32BE(offset, 9)
  socket.write(header)
  socket.write(block, () => flushed())
  wire.uploaded += block.length
  wire.uploadSpeed(block.length)
  wire.emit('upload', block.length)
  return true
}
