/**
 * The wire every connection of the engine uses: bittorrent-protocol's Wire
 * with the checks the library leaves to us. A length prefix over
 * MAX_MESSAGE or a message of the wrong length for its id is refused before
 * the library buffers or parses it, and the time a message body started is
 * kept, so a peer that trickles a body can be closed.
 *
 * @internal
 * @module
 */
import type { PeerSocket } from './transport.ts'
import Wire from 'bittorrent-protocol'
import { feedWire } from './parser.ts'
import { hookHandshake, hookWire, queuedInput, useMseKeys, wireEncryption, withReservedBits } from './protocol-internals.ts'
import type { PeerEncryption } from './mse-policy.ts'
import { MseKeyPair } from './mse-keys.ts'

/**
 * Largest wire message we accept. A legal bitfield for 3.8 M pieces is 481 kB,
 * a 128 KiB block message is a little over 128 KiB: 1 MiB leaves room for both
 * and stops a peer from making us buffer an arbitrary length prefix.
 */
export const MAX_MESSAGE = 1 << 20

/**
 * A message body pending longer than this (ms) must have arrived at
 * MIN_BODY_RATE on average, or the peer is closed: a trickled body would
 * otherwise hold up to MAX_MESSAGE of our memory for as long as the peer likes.
 */
export const BODY_STALL_TIMEOUT = 30000

/** Least average rate (bytes/s) of a pending message body past BODY_STALL_TIMEOUT. */
export const MIN_BODY_RATE = 1024

/** A Wire that drops the connection on an oversized length prefix or a message of the wrong length. */
export class CappedWire extends Wire {
  maxMessage = MAX_MESSAGE
  /** When the body of the message being received started (0: none pending). */
  bodySince = 0
  /** When the peer's first message (keep-alives aside) arrived (0: none yet); the admission policy's first-message rule. */
  firstMessageAt = 0

  constructor (...args: ConstructorParameters<typeof Wire>) {
    super(...args)
    // An MSE opening takes the engine's cheap key pair (mse-keys.ts).
    useMseKeys(this, () => new MseKeyPair())
  }

  /** The 8 reserved bytes of the peer's handshake, once it arrived. */
  peerReserved: Uint8Array | null = null

  /** Bytes of the pending message received so far. */
  bodyReceived(): number {
    return queuedInput(this)
  }

  /**
   * The connection speaks BitTorrent v2, as its torrent decided from the
   * handshakes (BEP 52's upgrade rules, torrent/connections.ts); null until
   * then, and on a wire no torrent owns, where the peer's v2 bit stands for it.
   */
  speaksV2: boolean | null = null

  /** True when the peer's handshake says it speaks BitTorrent v2 (BEP 52: bit 0x10 of reserved byte 7). */
  get peerV2(): boolean {
    return ((this.peerReserved?.[7] ?? 0) & V2_BIT) !== 0
  }

  /** Send our handshake; `extensions.v2` sets the BEP 52 v2 bit (for a torrent with a v2 half that talks v2). */
  override handshake(infoHash: string | Uint8Array, peerId: string | Uint8Array, extensions?: Record<string, boolean>): void {
    if (extensions?.['v2'] === true) withReservedBits(this, 7, V2_BIT, () => super.handshake(infoHash, peerId, extensions))
    else super.handshake(infoHash, peerId, extensions)
  }

  /** What the connection's opening negotiated (RC4, an MSE handshake with plaintext payload, or no MSE). */
  get encryption(): PeerEncryption {
    return wireEncryption(this)
  }
}

/** BEP 52: reserved byte 7, bit 0x10: the peer speaks BitTorrent v2. */
const V2_BIT = 0x10

hookHandshake(CappedWire, (wire, reserved) => {
  wire.peerReserved = reserved
})

hookWire(CappedWire, {
  // The library would otherwise wait for (and buffer) whatever length the peer announces.
  length: (wire, length) => {
    if (length > wire.maxMessage) {
      wire.emit('oversize', length)
      return false
    }
    wire.bodySince = length > 0 ? Date.now() : 0
    return true
  },
  // The library reads missing bytes of a short message as zeros (a 1-byte have would count as "have 0").
  message: (wire, buffer) => {
    wire.bodySince = 0
    if (wire.firstMessageAt === 0) wire.firstMessageAt = Date.now()
    const id = buffer[0]!
    const want = MESSAGE_LENGTH[id]
    const n = buffer.length
    if (want !== undefined && (want > 0 ? n !== want : n < -want)) {
      wire.emit('malformed', id, n)
      return false
    }
    return true
  },
  // Messages are sliced from the socket's chunks instead of copied (parser.ts).
  input: (wire, data) => feedWire(wire, data)
})

/**
 * Body length (id byte included) each message id must have: positive = exact,
 * negative = at least that many. Bitfield size is checked against the piece
 * count by the Peer; unknown ids pass (extensions may define them).
 */
const MESSAGE_LENGTH: Readonly<Record<number, number>> = {
  0: 1, // choke
  1: 1, // unchoke
  2: 1, // interested
  3: 1, // not interested
  4: 5, // have
  5: -1, // bitfield
  6: 13, // request
  7: -9, // piece
  8: 13, // cancel
  9: 3, // port
  0x0d: 5, // suggest (BEP 6)
  0x0e: 1, // have all
  0x0f: 1, // have none
  0x10: 13, // reject
  0x11: 5, // allowed fast
  20: -2, // extended
  21: 49, // hash request (BEP 52): id, pieces root, base layer, index, length, proof layers
  22: -49, // hashes: the same fields, then the hashes (wire/hash-messages.ts checks their count)
  23: 49 // hash reject
}

/**
 * Wrap an incoming socket whose handshake is read by the listener: returns the
 * wire (already piped) so the listener can learn the infohash first.
 */
export const incomingWire = (socket: PeerSocket, encryption = false): CappedWire => {
  // 1: accept MSE as well as plaintext handshakes, and prefer plaintext payload.
  const wire = new CappedWire('tcpIncoming', encryption ? 1 : 0)
  socket.pipe(wire).pipe(socket)
  return wire
}

/**
 * A wire with our message checks, not yet piped (for connections that are not
 * a torrent's peers); `mse` as bittorrent-protocol's `peEnabled` (see peEnabledFor).
 */
export const newCappedWire = (type: 'tcpIncoming' | 'tcpOutgoing', mse: 0 | 1 = 0): CappedWire => new CappedWire(type, mse)

