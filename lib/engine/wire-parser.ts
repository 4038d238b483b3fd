/**
 * Incoming bytes for bittorrent-protocol's Wire without its copies. The
 * library's `_write` concatenates the unparsed rest with every new socket
 * chunk (uint8-util `concat`: 6-8% of a download's main thread), i.e. copies
 * nearly every byte once more. Here messages are views into the socket's
 * chunks; only a message that spans chunks is gathered into a buffer of its
 * own size. The library's parser state (`_buffer`, `_bufferSize`,
 * `_parserSize`, `_parser`) keeps its meaning, so its own parsers run as
 * before.
 *
 * @internal
 * @module
 */

/** The Wire internals this module drives (bittorrent-protocol 5.x). */
interface WireParserState {
  _buffer: Uint8Array[]
  _bufferSize: number
  _parserSize: number
  _parser: (buffer: Uint8Array) => void
  _encryptor?: unknown
  _cryptoSyncPattern?: unknown
  _pePending?: boolean
}

const EMPTY = new Uint8Array(0)

/** True while the library's own `_write` must run (encrypted or resynchronising connections). */
export const needsLibraryParser = (wire: object): boolean => {
  const w = wire as WireParserState
  return Boolean(w._encryptor || w._cryptoSyncPattern || w._pePending)
}

/** Take the first `size` bytes of the queued chunks: a view when one chunk holds them, else one copy. */
const take = (w: WireParserState, size: number): Uint8Array => {
  const first = w._buffer[0]!
  w._bufferSize -= size
  if (first.length >= size) {
    if (first.length === size) w._buffer.shift()
    else w._buffer[0] = first.subarray(size)
    return first.subarray(0, size)
  }
  const out = Buffer.allocUnsafe(size)
  let at = 0
  while (at < size) {
    const chunk = w._buffer[0]!
    const n = Math.min(chunk.length, size - at)
    out.set(n === chunk.length ? chunk : chunk.subarray(0, n), at)
    at += n
    if (n === chunk.length) w._buffer.shift()
    else w._buffer[0] = chunk.subarray(n)
  }
  return out
}

/**
 * Queue `data` and run the wire's parsers on every complete unit. Call only
 * when {@link needsLibraryParser} is false.
 *
 * @example
 * ```ts
 * class MyWire extends Wire {
 *   _write(data: Uint8Array, cb: (err: Error | null) => void): void {
 *     if (needsLibraryParser(this)) return super._write(data, cb)
 *     feedWire(this, data)
 *     cb(null)
 *   }
 * }
 * ```
 */
export const feedWire = (wire: object, data: Uint8Array): void => {
  const w = wire as WireParserState
  if (data.length > 0) {
    w._buffer.push(data)
    w._bufferSize += data.length
  }
  while (w._bufferSize >= w._parserSize) {
    if (needsLibraryParser(w)) {
      // The library takes over from here; it expects its rest as one buffer.
      if (w._buffer.length > 1) {
        const rest = take(w, w._bufferSize)
        w._buffer = [rest]
        w._bufferSize = rest.length
      }
      return
    }
    const size = w._parserSize
    w._parser(size === 0 ? EMPTY : take(w, size))
  }
}
