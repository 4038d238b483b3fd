/**
 * Batching socket writes: every block we upload is two wire chunks (header
 * and data), and each became its own write syscall. Corking the socket for
 * the rest of the event-loop turn lets Node send all the answers of a batch
 * in one writev.
 *
 * @internal
 * @module
 */
import type net from 'node:net'

const corked = new WeakSet<net.Socket>()

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
export const corkForTurn = (socket: net.Socket): void => {
  if (corked.has(socket) || socket.destroyed) return
  corked.add(socket)
  socket.cork()
  setImmediate(() => {
    corked.delete(socket)
    if (!socket.destroyed) socket.uncork()
  })
}
