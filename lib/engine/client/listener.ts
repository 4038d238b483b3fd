/**
 * The client's one TCP listener for incoming peers. It reads the peer's
 * handshake to learn which torrent it wants, then hands the connection to that
 * torrent (synchronously, so no message after the handshake is missed).
 *
 * Connections still in their handshake are few and bounded (each may cost
 * a Diffie-Hellman key exchange, about a millisecond of CPU): the admission
 * policy (policy/admission.ts) caps them overall and per address, and when
 * they are all taken a newcomer takes the slot of the oldest one that has
 * not sent a byte, so idle sockets cannot lock honest peers out. Each has
 * `handshakeTimeout` to finish.
 *
 * It also answers the obfuscated handshake of message stream encryption
 * (MSE/PE, which aria2, libtorrent, Transmission and qBittorrent try first by
 * default): without it they give up on the first connection and retry in
 * plaintext a second or more later. The torrent is found from the initiator's
 * SHA-1("req2", infohash); plaintext payload is chosen whenever the peer
 * offers it (as libtorrent does by default), RC4 only for peers that insist.
 *
 * @internal
 * @module
 */
import { createHash } from 'node:crypto'
import net from 'node:net'
import { incomingWire, type CappedWire } from '../wire/peer.ts'
import { defaultAdmissionLimits, PendingHandshakes, type AdmissionLimits } from '../policy/admission.ts'
import { dropPlaintextEncryptor } from '../wire/protocol-internals.ts'
import type { PeerSocket } from '../wire/transport.ts'

/** The hash an MSE initiator sends in place of the infohash: SHA-1("req2" + infohash), hex. */
export const obfuscatedHash = (infoHash: string): string =>
  createHash('sha1').update('req2').update(Buffer.from(infoHash, 'hex')).digest('hex')

/** What the listener asks of the client. */
export interface IncomingRoute {
  /** Adopt the connection for the torrent `infoHash` (true) or refuse it (false: dropped). */
  adopt(infoHash: string, socket: PeerSocket, wire: CappedWire, peerId: string): boolean
  /** The infohash of a running torrent whose {@link obfuscatedHash} is `hash`, if any. */
  resolve(hash: string): string | undefined
}

export interface Listener {
  readonly port: number
  close(): Promise<void>
}

/**
 * Listen on `port` (0 = any free port) and route each handshake through
 * `route.adopt`, which adopts the connection (true) or refuses it (false:
 * dropped). With `encryption` (default true) obfuscated handshakes are
 * answered too, their torrent found by `route.resolve`. `limits` bound the
 * connections in their handshake (see the module comment).
 *
 * @example
 * ```ts
 * const l = await listen(0, undefined, {
 *   adopt: (infoHash, socket, wire, peerId) => torrents.get(infoHash)?.acceptIncoming(socket, wire, peerId) ?? false,
 *   resolve: (hash) => byObfuscatedHash.get(hash)
 * })
 * await l.close()
 * ```
 */
export const listen = (
  port: number,
  host: string | undefined,
  route: IncomingRoute,
  encryption = true,
  limits: AdmissionLimits = defaultAdmissionLimits
): Promise<Listener> =>
  new Promise((resolve, reject) => {
    const pending = new PendingHandshakes<PeerSocket>(limits)
    const server = net.createServer((socket) => receiveHandshake(socket, route, encryption, pending, limits))
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
          for (const s of [...pending.keys()]) {
            pending.settle(s)
            s.destroy()
          }
          server.close()
        }
      })
    })
  })

/**
 * Read the handshake of one incoming connection (TCP or uTP) and hand it to
 * `route`: answered MSE first when `encryption`, dropped on a bad handshake,
 * an unknown torrent or no handshake within the limits' timeout. It waits in
 * `pending`, where a newcomer may evict the least promising connection;
 * `settled` runs once it leaves (handed on or dropped).
 *
 * @example
 * ```ts
 * utp.on('connection', (conn) => receiveHandshake(conn, route, true, pendingUtp, defaultAdmissionLimits))
 * ```
 */
export const receiveHandshake = (
  socket: PeerSocket,
  route: IncomingRoute,
  encryption: boolean,
  pending: PendingHandshakes<PeerSocket>,
  limits: AdmissionLimits,
  settled?: () => void
): void => {
  // Never refused: a full set gives this one the slot of its least promising pending connection.
  for (const evicted of pending.arrive(socket, socket.remoteAddress ?? '', Date.now())) evicted.destroy()
  let done = false
  const leave = (): void => {
    pending.settle(socket)
    if (done) return
    done = true
    settled?.()
  }
  const wire = incomingWire(socket, encryption)
  const drop = (): void => {
    leave()
    socket.destroy()
  }
  const timer = setTimeout(drop, limits.handshakeTimeout)
  timer.unref?.()
  socket.once('data', () => pending.progressed(socket))
  socket.on('error', drop)
  socket.on('close', () => {
    clearTimeout(timer)
    leave()
  })
  // The library ends or destroys a wire whose handshake fails (wrong
  // protocol, bad MSE step): the socket goes with it.
  wire.on('close', drop)
  wire.once('crypto-infohash', (hash: string) => {
    const infoHash = route.resolve(hash)
    if (infoHash === undefined) return drop()
    wire.setInfoHash(infoHash)
  })
  wire.once('handshake', (infoHash: string, peerId: string) => {
    clearTimeout(timer)
    leave()
    socket.removeListener('error', drop)
    wire.removeListener('close', drop)
    // Plaintext from here on (the peer's plain handshake, or MSE with
    // plaintext chosen): without the encryptor the wire takes the
    // engine's copy-free parser (parser.ts).
    dropPlaintextEncryptor(wire)
    let adopted = false
    try {
      adopted = route.adopt(infoHash, socket, wire, peerId)
    } catch {
      adopted = false
    }
    if (!adopted) socket.destroy()
  })
}
