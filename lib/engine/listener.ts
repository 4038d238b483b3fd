/**
 * The client's one TCP listener for incoming peers. It reads the peer's
 * handshake to learn which torrent it wants, then hands the connection to that
 * torrent (synchronously, so no message after the handshake is missed).
 *
 * @internal
 * @module
 */
import net from 'node:net'
import { incomingWire, type CappedWire } from './peer.ts'

export interface Listener {
  readonly port: number
  close(): Promise<void>
}

/**
 * Listen on `port` (0 = any free port) and route each handshake through
 * `route`, which adopts the connection (true) or refuses it (false: dropped).
 *
 * @example
 * ```ts
 * const l = await listen(0, undefined, (infoHash, socket, wire, peerId) => torrents.get(infoHash)?.acceptIncoming(socket, wire, peerId) ?? false)
 * await l.close()
 * ```
 */
export const listen = (
  port: number,
  host: string | undefined,
  route: (infoHash: string, socket: net.Socket, wire: CappedWire, peerId: string) => boolean
): Promise<Listener> =>
  new Promise((resolve, reject) => {
    const pending = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      pending.add(socket)
      const wire = incomingWire(socket)
      const drop = (): void => {
        pending.delete(socket)
        socket.destroy()
      }
      const timer = setTimeout(drop, 10000)
      timer.unref?.()
      socket.on('error', drop)
      socket.on('close', () => {
        clearTimeout(timer)
        pending.delete(socket)
      })
      wire.once('handshake', (infoHash: string, peerId: string) => {
        clearTimeout(timer)
        pending.delete(socket)
        socket.removeListener('error', drop)
        let adopted = false
        try {
          adopted = route(infoHash, socket, wire, peerId)
        } catch {
          adopted = false
        }
        if (!adopted) socket.destroy()
      })
    })
    server.on('error', reject)
    server.listen(port, host, () => {
      server.removeListener('error', reject)
      server.on('error', () => {})
      const addr = server.address()
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : port,
        // Stops accepting at once; connections already handed to torrents are
        // theirs to close (server.close's callback would wait for them).
        close: async () => {
          for (const s of pending) s.destroy()
          pending.clear()
          server.close()
        }
      })
    })
  })
