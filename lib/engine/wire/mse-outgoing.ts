/**
 * The initiator's side of a connection's opening: with an obfuscated
 * handshake, bittorrent-protocol's MSE exchange first (it sends Ya and walks
 * the steps; {@link MsePolicy} decides whether to), then the BitTorrent
 * handshake, encrypted or not as the peer selected; with a plaintext one, the
 * BitTorrent handshake at once. Either way it waits for the peer's handshake
 * and reports how the payload travels, or that the peer refused: it closed,
 * or stayed silent past the timeout (a peer that starts MSE and stalls).
 *
 * When the peer selects plaintext payload, the wire leaves the library's
 * encryptor behind once the handshakes are done, so the payload takes the
 * engine's copy-free parser (parser.ts), as on the listener's side.
 *
 * @internal
 * @module
 */
import type Wire from 'bittorrent-protocol'
import type { Handshake } from './mse-policy.ts'
import { dropPlaintextEncryptor, mseEnabled, offerPlaintextPayloadOnly, payloadEncrypted } from './protocol-internals.ts'

/** How the payload travels once the handshakes are done. */
export type PayloadMethod = 'rc4' | 'plaintext'

/** A refused opening: the peer closed, or said nothing in time. */
export class HandshakeRefused extends Error {
  constructor (readonly handshake: Handshake, reason: string) {
    super(`${handshake} handshake refused: ${reason}`)
  }
}

/** The peer's handshake for a connection opened successfully. */
export interface Opened {
  readonly payload: PayloadMethod
  /** Hex infohash and peer id from the peer's handshake. */
  readonly infoHash: string
  readonly peerId: string
}

/** What we need of bittorrent-protocol's Wire here (its MSE state through protocol-internals.ts). */
export type OpeningWire = Pick<Wire, 'startEncryption' | 'handshake' | 'once' | 'removeListener'>

/** How long (ms) the peer has for the whole opening, MSE and handshake (libtorrent's handshake_timeout). */
export const OPENING_TIMEOUT = 10_000

export interface OpeningOptions {
  readonly infoHash: string
  readonly peerId: string
  readonly extensions?: Record<string, boolean>
  /** Sends our BitTorrent handshake (default: `wire.handshake(infoHash, peerId, extensions)`). */
  readonly sendHandshake?: () => void
  /** Default {@link OPENING_TIMEOUT}. */
  readonly timeoutMs?: number
  /**
   * The socket (TCP or uTP) under the wire: its close is a refusal too (a
   * wire piped from a closed socket does not always close itself).
   */
  readonly transport?: {
    once(event: 'close', cb: () => void): unknown
    removeListener(event: 'close', cb: () => void): unknown
  }
}

/**
 * Open an outgoing connection on `wire` with `handshake`. For an MSE opening the
 * wire must have been made with MSE on (bittorrent-protocol's `peEnabled` 1,
 * see peEnabledFor); for 'plaintext' with it off. Resolves with the payload
 * method on the peer's handshake; rejects with {@link HandshakeRefused} when
 * the wire closes or the time runs out first (the caller closes the wire).
 *
 * @example
 * ```ts
 * const wire = new Wire('tcpOutgoing', peEnabledFor('obfuscated'))
 * socket.pipe(wire).pipe(socket)
 * const opened = await openOutgoing(wire, 'obfuscated', { infoHash, peerId })
 * console.log(opened.payload) // 'plaintext' against a peer that prefers it
 * ```
 */
export const openOutgoing = (wire: OpeningWire, handshake: Handshake, opts: OpeningOptions): Promise<Opened> =>
  new Promise((resolve, reject) => {
    const encrypted = handshake !== 'plaintext'
    const mode = mseEnabled(wire)
    if (encrypted !== Boolean(mode)) {
      reject(new Error(`a wire made with peEnabled=${mode} cannot open a ${handshake} handshake`))
      return
    }
    let done = false
    const finish = (err: Error | null, value?: Opened): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      wire.removeListener('close', onClose)
      wire.removeListener('end', onClose)
      wire.removeListener('error', onError)
      wire.removeListener('crypto-handshake', onCrypto)
      wire.removeListener('handshake', onHandshake)
      opts.transport?.removeListener('close', onClose)
      if (err) reject(err)
      else resolve(value!)
    }
    const onClose = (): void => finish(new HandshakeRefused(handshake, 'the peer closed the connection'))
    const onError = (e: Error): void => finish(new HandshakeRefused(handshake, e.message))
    const sendHandshake = opts.sendHandshake ?? (() => wire.handshake(opts.infoHash, opts.peerId, opts.extensions))
    const onCrypto = (): void => sendHandshake()
    const onHandshake = (infoHash: string, peerId: string): void => {
      const payload: PayloadMethod = payloadEncrypted(wire) ? 'rc4' : 'plaintext'
      // Plaintext payload: nothing left for the library's encryptor to do.
      dropPlaintextEncryptor(wire)
      finish(null, { payload, infoHash, peerId })
    }
    const timer = setTimeout(
      () => finish(new HandshakeRefused(handshake, `no handshake within ${opts.timeoutMs ?? OPENING_TIMEOUT} ms`)),
      opts.timeoutMs ?? OPENING_TIMEOUT
    )
    timer.unref?.()
    wire.once('close', onClose)
    opts.transport?.once('close', onClose)
    wire.once('end', onClose)
    wire.once('error', onError)
    wire.once('handshake', onHandshake)
    if (encrypted) {
      wire.once('crypto-handshake', onCrypto)
      // Plaintext payload preferred: RC4 is offered only on the retry after a refusal (mse-policy.ts).
      if (handshake === 'obfuscated') offerPlaintextPayloadOnly(wire)
      wire.startEncryption(opts.infoHash)
    } else {
      sendHandshake()
    }
  })
