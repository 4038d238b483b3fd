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

/**
 * Take the first `size` bytes of the queued chunks: a view when one chunk
 * holds them, else one copy. `copyView` forces a copy of a view (volatile
 * input whose memory is reused after the call).
 */
const take = (w: WireParserState, size: number, copyView = false): Uint8Array => {
  const first = w._buffer[0]!
  w._bufferSize -= size
  if (first.length >= size) {
    if (first.length === size) w._buffer.shift()
    else w._buffer[0] = first.subarray(size)
    const view = first.subarray(0, size)
    return copyView ? Buffer.from(view) : view
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
export const feedWire = (wire: object, data: Uint8Array, volatile = false): void => {
  const w = wire as WireParserState & { _onMessage?: unknown }
  if (data.length > 0) {
    w._buffer.push(data)
    w._bufferSize += data.length
  }
  while (w._bufferSize >= w._parserSize) {
    if (needsLibraryParser(w)) {
      // The library takes over from here; it expects its rest as one buffer.
      if (w._buffer.length > 1 || (volatile && w._buffer.length > 0)) {
        const rest = take(w, w._bufferSize, volatile)
        w._buffer = [rest]
        w._bufferSize = rest.length
      }
      return
    }
    const size = w._parserSize
    // Volatile input: only a piece message's body may stay a view (the torrent
    // copies the block at once); anything else may be kept by the library or
    // an extension, so it gets memory of its own.
    const copy = volatile && !(w._parser === w._onMessage && w._buffer.length > 0 && w._buffer[0]![0] === 7)
    w._parser(size === 0 ? EMPTY : take(w, size, copy))
  }
  if (volatile && w._buffer.length > 0) {
    // The unparsed rest must outlive the caller's buffer.
    const rest = take(w, w._bufferSize, true)
    w._buffer = [rest]
    w._bufferSize = rest.length
  }
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
