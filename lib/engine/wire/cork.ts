/**
 * Batching socket writes: every block we upload is two wire chunks (header
 * and data), and each became its own write syscall. Corking the socket for
 * the rest of the event-loop turn lets Node send all the answers of a batch
 * in one writev.
 *
 * @internal
 * @module
 */
import { raiseWriteHighWater } from './protocol-internals.ts'
import type { PeerSocket } from './transport.ts'

const corked = new WeakSet<PeerSocket>()

/**
 * Socket buffer (bytes) before write() reports backpressure. The wire's stream
 * pipe stops feeding a socket whose write() returns false until 'drain', and
 * Node 20's 16 KiB default made that happen after one block: the rest of the
 * batch then left uncorked, one write per chunk. The torrent bounds what it
 * queues per peer (UPLOAD_BUFFER, 1 MiB), so a larger mark costs no extra
 * memory; it stays below that bound so that a peer held back by it always has
 * a socket past the mark, whose 'drain' resumes it.
 */
export const BATCH_HIGH_WATER = 512 * 1024

/**
 * Cork `socket` until the current turn of the event loop is over (the
 * wire's queued chunks reach the socket in a microtask; uncorking waits for
 * setImmediate, after them). Idempotent within a turn.
 *
 * @example
 * ```ts
 * corkForTurn(peer.socket)
 * wire.piece(index, offset, block) // leaves with the turn's other answers
 * ```
 */
export const corkForTurn = (socket: PeerSocket): void => {
  if (corked.has(socket) || socket.destroyed) return
  corked.add(socket)
  raiseWriteHighWater(socket, BATCH_HIGH_WATER)
  socket.cork()
  setImmediate(() => {
    corked.delete(socket)
    if (!socket.destroyed) socket.uncork()
  })
}
