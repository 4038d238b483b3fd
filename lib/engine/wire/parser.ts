/**
 * Incoming bytes for bittorrent-protocol's Wire without its copies. The
 * library's `_write` concatenates the unparsed rest with every new socket
 * chunk (uint8-util `concat`: 6-8% of a download's main thread), i.e. copies
 * nearly every byte once more. Here messages are views into the socket's
 * chunks; only a message that spans chunks is gathered into a buffer of its
 * own size. The library's parser state (its unparsed chunks, the size its
 * current step waits for, the step itself) keeps its meaning, so its own
 * parsers run as before; that state is reached through protocol-internals.ts.
 *
 * @internal
 * @module
 */
import {
  appendInput,
  awaitsMessageBody,
  consumedInput,
  inputChunks,
  needsLibraryParser,
  neededInput,
  queuedInput,
  replaceInput,
  runParser
} from './protocol-internals.ts'

export { needsLibraryParser }

/** Where a volatile read's unparsed rest is kept until the next read (one per wire, allocated on first need). */
const carries = new WeakMap<object, Buffer>()

const EMPTY = new Uint8Array(0)

/**
 * Rests up to this size are kept in the wire's own carry buffer (one per wire
 * that receives volatile reads, allocated on first need) instead of a fresh
 * copy per read: a block message (16 KiB + 13) always fits.
 */
export const CARRY_SIZE = 32 * 1024

/**
 * Where a piece message that spans reads is gathered. Piece bodies are copied
 * by their consumer before the parser returns (the torrent copies each block
 * into its piece), so one buffer serves every wire: gathering a block cost a
 * fresh 16 KiB per read before, which with the rests made about 100 MiB of
 * garbage per GiB downloaded and a 30 MiB sawtooth of external memory.
 */
let gather: Buffer = Buffer.allocUnsafeSlow(CARRY_SIZE)
/** True while `gather` is lent to a parser (a re-entrant parse gets a fresh buffer). */
let gatherLent = false

/**
 * Take the first `size` bytes of the queued chunks: a view when one chunk
 * holds them, else one copy. `copyView` forces a copy of a view (volatile
 * input whose memory is reused after the call).
 */
const take = (w: object, size: number, copyView = false, into?: Buffer): Uint8Array => {
  const chunks = inputChunks(w)
  const first = chunks[0]!
  consumedInput(w, size)
  if (first.length >= size) {
    if (first.length === size) chunks.shift()
    else chunks[0] = first.subarray(size)
    const view = first.subarray(0, size)
    return copyView ? Buffer.from(view) : view
  }
  const out = into !== undefined && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size)
  let at = 0
  while (at < size) {
    const chunk = chunks[0]!
    const n = Math.min(chunk.length, size - at)
    out.set(n === chunk.length ? chunk : chunk.subarray(0, n), at)
    at += n
    if (n === chunk.length) chunks.shift()
    else chunks[0] = chunk.subarray(n)
  }
  return out
}

/**
 * Queue `data` and run the wire's parsers on every complete unit. Call only
 * when {@link needsLibraryParser} is false.
 *
 * @example
 * ```ts
 * class MyWire extends Wire {}
 * hookWire(MyWire, { length: () => true, message: () => true, input: (wire, data) => feedWire(wire, data) })
 * ```
 */
export const feedWire = (wire: object, data: Uint8Array, volatile = false): void => {
  if (data.length > 0) appendInput(wire, data)
  while (queuedInput(wire) >= neededInput(wire)) {
    if (needsLibraryParser(wire)) {
      // The library takes over from here; it expects its rest as one buffer.
      const chunks = inputChunks(wire)
      if (chunks.length > 1 || (volatile && chunks.length > 0)) {
        const rest = take(wire, queuedInput(wire), volatile)
        replaceInput(wire, [rest], rest.length)
      }
      return
    }
    const size = neededInput(wire)
    // Only a piece message's body may be a view or a lent buffer (the torrent
    // copies the block at once); anything else may be kept by the library or
    // an extension, so it gets memory of its own.
    const chunks = inputChunks(wire)
    const piece = awaitsMessageBody(wire) && chunks.length > 0 && chunks[0]![0] === 7
    if (size === 0) runParser(wire, EMPTY)
    else if (piece && !gatherLent) {
      if (gather.length < size) gather = Buffer.allocUnsafeSlow(size)
      gatherLent = true
      try {
        runParser(wire, take(wire, size, false, gather))
      } finally {
        gatherLent = false
      }
    } else runParser(wire, take(wire, size, volatile && !piece))
  }
  if (volatile && inputChunks(wire).length > 0) keepRest(wire)
}

/**
 * The unparsed rest of a volatile read must outlive the caller's buffer: it
 * moves to the wire's carry buffer (or a copy of its own when larger). The
 * rest may already start inside the carry (a message still incomplete after
 * two reads): that part moves down first, which never overlaps wrongly.
 */
const keepRest = (w: object): void => {
  const size = queuedInput(w)
  if (size > CARRY_SIZE) {
    const rest = take(w, size, true)
    replaceInput(w, [rest], rest.length)
    return
  }
  let carry = carries.get(w)
  if (carry === undefined) carries.set(w, (carry = Buffer.allocUnsafeSlow(CARRY_SIZE)))
  let at = 0
  for (const part of inputChunks(w)) {
    if (part.buffer === carry.buffer) {
      const from = part.byteOffset - carry.byteOffset
      carry.copyWithin(at, from, from + part.length)
    } else carry.set(part, at)
    at += part.length
  }
  replaceInput(w, [carry.subarray(0, size)], size)
}

/**
 * One read buffer shared by every outgoing peer socket (Node's `onread`):
 * reads are handled synchronously on the main thread, one at a time, and
 * {@link feedWire} with `volatile` copies whatever must outlive the call, so
 * socket reads allocate nothing and come in 256 KiB instead of 64 KiB.
 */
const SHARED_READ = Buffer.allocUnsafe(256 * 1024)

/**
 * The `onread` option for `net.connect` that hands each read to `onData` as
 * a view of the shared buffer (valid only during the call).
 *
 * @example
 * ```ts
 * const socket = net.connect({ host, port, onread: sharedRead((view) => feedWire(wire, view, true)) })
 * ```
 */
export const sharedRead = (onData: (view: Uint8Array) => void): { buffer: Uint8Array; callback: (n: number, buf: Uint8Array) => boolean } => ({
  buffer: SHARED_READ,
  callback: (n, buf) => {
    onData(buf.subarray(0, n))
    return true
  }
})
