/**
 * The one module that touches private members of bittorrent-protocol's Wire
 * (and of the streams beneath it: streamx for the Wire, Node's for sockets).
 * The engine overrides three of the Wire's parsing steps and reads or drives
 * a few of its private fields, for checks the library does not make and for
 * copies it makes that the engine avoids. Everything else in the engine calls
 * the named functions here, so a change of the library shows up in one file,
 * and spec/engine/wire/protocol-internals.spec.ts names the member that moved.
 *
 * The members are those of bittorrent-protocol 5.0.9 (package.json pins that
 * exact version): see {@link WIRE_MEMBERS} for the list the spec checks.
 *
 * @internal
 * @module
 */
import Wire from 'bittorrent-protocol'
import type { PeerEncryption } from './mse-policy.ts'

/** A parser step of the Wire: called with exactly the bytes it asked for. */
type ParserStep = (buffer: Uint8Array) => void

/** The library's stream input (a streamx `_write`; the typings say Node's Duplex). */
type StreamWrite = (data: Uint8Array, cb: (err: Error | null) => void) => void

/** The private state of a Wire that the engine reads or drives (bittorrent-protocol 5.0.9). */
interface WirePrivate {
  /** Received bytes not parsed yet, in arrival order. */
  _buffer: Uint8Array[]
  /** Total length of `_buffer`. */
  _bufferSize: number
  /** Bytes the current parser step waits for. */
  _parserSize: number
  /** The current parser step. */
  _parser: ParserStep
  /** The message dispatcher (the step after a length prefix). */
  _onMessage: ParserStep
  /** MSE mode the wire was made with: 0 none, 1 MSE with plaintext allowed, 2 RC4 only. */
  _peEnabled: number
  /** MSE state; null on a plaintext wire. `_dh` is its Diffie-Hellman object, made on first use. */
  _encryptor: {
    _isEncrypted?: boolean
    _dh?: unknown
    encryptionMethod?: number | null
    /** MSE progress: idle | sentPe1 | gotPe2 | sentPe3 | gotPe3 | done (and the responder's steps). */
    state?: string
    /** Builds the initiator's step 3 with the payload methods offered (crypto_provide). */
    generateStepA3?: (provide: number) => Uint8Array
  } | null
  /** Set while an MSE handshake resynchronises on a pattern. */
  _cryptoSyncPattern: Uint8Array | null
  /** Set while an MSE responder waits for its infohash. */
  _pePending: boolean
  /** Set once the wire's writable side finished (the connection is over). */
  _finished: boolean
  /** streamx's readable side: bytes queued for the socket. */
  _readableState?: { buffered?: number }
  /** Queue an outgoing message (encrypting it when MSE chose RC4). */
  _push(data: Uint8Array): unknown
  /** Remove and return the request (piece, offset, length) from `list`, or null. */
  _pull(list: unknown[], piece: number, offset: number, length: number): unknown
  peerRequests: unknown[]
}

/** The Wire's prototype, seen with its private methods. */
const proto = Wire.prototype as unknown as {
  _onMessageLength: ParserStep
  _onMessage: ParserStep
  _write: StreamWrite
  _onHandshakeBuffer: ParserStep
}

/**
 * Every private member the engine relies on, with its kind and what for:
 * a `method` lives on Wire.prototype with the given arity, a `field` is an
 * own property of a fresh plaintext wire with the given `typeof`. The spec
 * checks each one and names the member that is missing or changed.
 */
export const WIRE_MEMBERS = {
  _onMessageLength: { kind: 'method', arity: 1, use: 'hookWire: the message size cap' },
  _onMessage: { kind: 'method', arity: 1, use: 'hookWire: the message length checks; awaitsMessageBody' },
  _write: { kind: 'method', arity: 2, use: 'hookWire: the copy-free input path' },
  _onHandshakeBuffer: { kind: 'method', arity: 1, use: 'hookHandshake: the reserved bytes of the peer\'s handshake (BEP 52 v2 bit)' },
  _push: { kind: 'method', arity: 1, use: 'pushRaw: batched requests; withReservedBits: our handshake\'s reserved bytes' },
  _pull: { kind: 'method', arity: 4, use: 'takePeerRequest: blocks sent around the wire' },
  _buffer: { kind: 'field', type: 'object', use: 'the copy-free input path (unparsed chunks)' },
  _bufferSize: { kind: 'field', type: 'number', use: 'the copy-free input path; the body stall check' },
  _parserSize: { kind: 'field', type: 'number', use: 'the copy-free input path (bytes the step waits for)' },
  _parser: { kind: 'field', type: 'function', use: 'the copy-free input path (the current step)' },
  _peEnabled: { kind: 'field', type: 'number', use: 'mseEnabled' },
  _encryptor: { kind: 'field', type: 'object', use: 'needsLibraryParser, mayBypass, payloadEncrypted, dropPlaintextEncryptor, wireEncryption' },
  _cryptoSyncPattern: { kind: 'field', type: 'object', use: 'needsLibraryParser (MSE resynchronisation)' },
  _pePending: { kind: 'field', type: 'boolean', use: 'needsLibraryParser (MSE responder without infohash)' },
  _finished: { kind: 'field', type: 'boolean', use: 'mayBypass (a closed wire)' },
  _readableState: { kind: 'field', type: 'object', use: 'queuedOutput, mayBypass (streamx readable buffer)' }
} as const

/** How a subclass of Wire takes over the steps {@link hookWire} overrides. */
export interface WireHooks<W> {
  /** A message's length prefix arrived. False stops the wire's parsing for good: the hook drops the connection. */
  readonly length: (wire: W, length: number) => boolean
  /** A whole message arrived (its id byte first). False drops it and stops the wire's parsing: the hook drops the connection. */
  readonly message: (wire: W, body: Uint8Array) => boolean
  /** Socket bytes for the wire, whenever {@link needsLibraryParser} is false (else the library parses them). */
  readonly input: (wire: W, data: Uint8Array) => void
}

/**
 * Install `hooks` on the prototype of `cls`, a subclass of Wire: the
 * library's length parser, message dispatcher and stream input run only
 * after (or instead of) them.
 *
 * @example
 * ```ts
 * class Checked extends Wire {}
 * hookWire(Checked, { length: (w, n) => n <= MAX, message: () => true, input: (w, data) => feedWire(w, data) })
 * ```
 */
export const hookWire = <W extends Wire>(cls: abstract new (...args: never[]) => W, hooks: WireHooks<W>): void => {
  const target = cls.prototype as unknown as typeof proto
  const { _onMessageLength: libraryLength, _onMessage: libraryMessage, _write: libraryWrite } = proto
  target._onMessageLength = function (this: W, buffer: Uint8Array) {
    const length = ((buffer[0]! << 24) >>> 0) + (buffer[1]! << 16) + (buffer[2]! << 8) + buffer[3]!
    if (hooks.length(this, length)) libraryLength.call(this, buffer)
    else stopParsing(this)
  }
  target._onMessage = function (this: W, buffer: Uint8Array) {
    if (hooks.message(this, buffer)) libraryMessage.call(this, buffer)
    else stopParsing(this)
  }
  target._write = function (this: W, data, cb) {
    if (needsLibraryParser(this)) return libraryWrite.call(this, data, cb)
    hooks.input(this, data)
    cb(null)
  }
}

const priv = (wire: object): WirePrivate => wire as WirePrivate

/** Bytes before the reserved bytes in a handshake: the length byte and "BitTorrent protocol". */
const PROTOCOL_PREFIX = 20

/**
 * Give `onReserved` the 8 reserved bytes of every peer handshake a wire of
 * class `cls` parses (the library passes on only its DHT, fast and extended bits).
 *
 * @example
 * ```ts
 * hookHandshake(Checked, (wire, reserved) => { wire.peerReserved = reserved })
 * ```
 */
export const hookHandshake = <W extends Wire>(cls: abstract new (...args: never[]) => W, onReserved: (wire: W, reserved: Uint8Array) => void): void => {
  const target = cls.prototype as unknown as typeof proto
  const library = proto._onHandshakeBuffer
  target._onHandshakeBuffer = function (this: W, buffer: Uint8Array) {
    // The step gets the handshake after its length byte: 19 bytes of protocol name, then the reserved bytes.
    onReserved(this, new Uint8Array(buffer.subarray(PROTOCOL_PREFIX - 1, PROTOCOL_PREFIX + 7)))
    library.call(this, buffer)
  }
}

/**
 * Run `send` (which sends our handshake through the library) with the bits of
 * `mask` set in reserved byte `byte` of that handshake: the library sets only
 * its own bits (DHT, fast, extended).
 *
 * @example
 * ```ts
 * withReservedBits(wire, 7, 0x10, () => wire.handshake(infoHash, peerId)) // BEP 52: we speak v2
 * ```
 */
export const withReservedBits = (wire: object, byte: number, mask: number, send: () => void): void => {
  const w = priv(wire)
  const library = w._push
  w._push = function (this: WirePrivate, data: Uint8Array) {
    delete (w as Partial<WirePrivate>)._push
    if (data.length === PROTOCOL_PREFIX + 48 && data[0] === 19) data[PROTOCOL_PREFIX + byte] = (data[PROTOCOL_PREFIX + byte] ?? 0) | mask
    return library.call(this, data)
  }
  try {
    send()
  } finally {
    delete (w as Partial<WirePrivate>)._push
  }
}

const ignore: ParserStep = () => {}

/** No parser step runs again on this wire: what follows a refused message is not parsed (as the library does once a wire finished). */
const stopParsing = (wire: object): void => {
  const w = priv(wire)
  w._parserSize = Number.MAX_VALUE
  w._parser = ignore
}

/** True while the library's own input parser must run (encrypted or resynchronising connections). */
export const needsLibraryParser = (wire: object): boolean => {
  const w = priv(wire)
  return Boolean(w._encryptor || w._cryptoSyncPattern || w._pePending)
}

/** Received bytes the wire holds unparsed (for a pending message: how much of it arrived). */
export const queuedInput = (wire: object): number => priv(wire)._bufferSize

/** The wire's unparsed chunks, in order (the array itself: shift and replace its head to consume). */
export const inputChunks = (wire: object): Uint8Array[] => priv(wire)._buffer

/** Append a received chunk to the wire's unparsed input. */
export const appendInput = (wire: object, data: Uint8Array): void => {
  const w = priv(wire)
  w._buffer.push(data)
  w._bufferSize += data.length
}

/** Count `n` bytes of the head of {@link inputChunks} as consumed (the caller removed them from the chunks). */
export const consumedInput = (wire: object, n: number): void => {
  priv(wire)._bufferSize -= n
}

/** Replace the wire's unparsed input with `chunks` (whose total length is `size`). */
export const replaceInput = (wire: object, chunks: Uint8Array[], size: number): void => {
  const w = priv(wire)
  w._buffer = chunks
  w._bufferSize = size
}

/** Bytes the wire's current parser step waits for. */
export const neededInput = (wire: object): number => priv(wire)._parserSize

/** Run the wire's current parser step on exactly {@link neededInput} bytes. */
export const runParser = (wire: object, unit: Uint8Array): void => priv(wire)._parser(unit)

/** True when the next parser step is the body of a message (not a length prefix or a handshake part). */
export const awaitsMessageBody = (wire: object): boolean => {
  const w = priv(wire)
  return w._parser === w._onMessage
}

/** Bytes the wire has queued for its socket and not yet handed over. */
export const queuedOutput = (wire: object): number => priv(wire)._readableState?.buffered ?? 0

/**
 * True when bytes may go to the wire's socket directly, around the wire:
 * it is open, sends plaintext with no MSE layer, and has nothing queued for
 * the socket (so message order is kept).
 */
export const mayBypass = (wire: object): boolean => {
  const w = priv(wire)
  return !w._finished && !w._encryptor && (w._readableState?.buffered ?? 1) === 0
}

/**
 * Queue raw, already framed message bytes for the socket (through the MSE
 * layer when there is one), bypassing the wire's per-message bookkeeping.
 */
export const pushRaw = (wire: object, bytes: Uint8Array): void => {
  priv(wire)._push(bytes)
}

/** Remove the peer's request (piece, offset, length) from the wire's list; false when it is not pending (cancelled). */
export const takePeerRequest = (wire: object, piece: number, offset: number, length: number): boolean => {
  const w = priv(wire)
  return w._pull(w.peerRequests, piece, offset, length) !== null
}

/** The MSE mode the wire was made with (bittorrent-protocol's `peEnabled`: 0 none, 1 plaintext allowed, 2 RC4 only). */
export const mseEnabled = (wire: object): number => priv(wire)._peEnabled ?? 0

/** True when the wire's payload is RC4-encrypted (MSE chose RC4); false for plaintext, with or without an MSE opening. */
export const payloadEncrypted = (wire: object): boolean => priv(wire)._encryptor?._isEncrypted === true

/**
 * Give the wire's MSE layer (when it has one) the engine's key pair instead
 * of the Diffie-Hellman object it would make itself (see mse-keys.ts: the
 * library's costs a primality check per connection).
 */
export const useMseKeys = (wire: object, keys: () => { generateKeys(): Uint8Array, computeSecret(peer: Uint8Array): Uint8Array }): void => {
  const e = priv(wire)._encryptor
  if (e) e._dh = keys()
}

/** MSE's crypto_provide / crypto_select bit for plaintext payload (RC4 is 0x02). */
const MSE_PLAINTEXT = 0x01

/**
 * An outgoing MSE opening on `wire` offers plaintext payload only (the
 * library offers RC4 and plaintext, and leaves the pick to the peer). No-op
 * on a wire without MSE.
 */
export const offerPlaintextPayloadOnly = (wire: object): void => {
  const e = priv(wire)._encryptor
  const build = e?.generateStepA3
  if (!e || typeof build !== 'function') return
  e.generateStepA3 = () => build.call(e, MSE_PLAINTEXT)
}

/**
 * True once an outgoing MSE opening has the peer's key and sent its payload
 * offer (step 3): a close from here on refuses the offer, not MSE itself.
 */
export const sentPayloadOffer = (wire: object): boolean => {
  const state = priv(wire)._encryptor?.state
  return state === 'sentPe3' || state === 'done'
}

/**
 * After the handshakes (incoming or outgoing): drop the MSE layer when the
 * peer chose plaintext payload (it only passes bytes through from here), so
 * the wire takes the engine's copy-free input path.
 */
export const dropPlaintextEncryptor = (wire: object): void => {
  const w = priv(wire)
  if (!w._encryptor || w._encryptor._isEncrypted) return
  if (w._encryptor.encryptionMethod === 1) obfuscatedOpenings.add(wire)
  w._encryptor = null
}

/** Wires whose MSE opening chose plaintext payload and whose MSE layer is gone (dropPlaintextEncryptor). */
const obfuscatedOpenings = new WeakSet<object>()

/**
 * What the wire's opening negotiated: RC4 payload, an MSE handshake with
 * plaintext payload ('obfuscated'), or no MSE at all ('none', also while an
 * MSE handshake is still under way).
 */
export const wireEncryption = (wire: object): PeerEncryption => {
  const e = priv(wire)._encryptor
  if (e?._isEncrypted === true) return 'rc4'
  return obfuscatedOpenings.has(wire) || e?.encryptionMethod === 1 ? 'obfuscated' : 'none'
}

/**
 * Raise the write buffer of `socket` before write() reports backpressure to
 * at least `bytes` (Node has no public setter for a live socket's mark).
 */
export const raiseWriteHighWater = (socket: object, bytes: number): void => {
  const state = (socket as unknown as { _writableState?: { highWaterMark: number } })._writableState
  if (state && state.highWaterMark < bytes) state.highWaterMark = bytes
}
