/**
 * Fakes for unit tests of the engine's parts: an in-memory connection pair
 * (no network), an in-memory storage, a metainfo (v1 or v2) built from bytes, a
 * torrent context, a manual clock, and a remote peer made of a real bittorrent-protocol Wire on the
 * other end of the pair.
 */
import { Duplex } from 'node:stream'
import { createHash, randomBytes } from 'node:crypto'
import type net from 'node:net'
import Wire from 'bittorrent-protocol'
import type { Hasher, Metainfo, Storage } from '../../lib/engine/contracts.ts'
import type { TorrentContext } from '../../lib/engine/torrent/context.ts'
import { bencode } from '../../lib/engine/metainfo/bencode-encode.ts'
import { fileRoot, leafHashes, pieceLayer } from '../../lib/engine/metainfo/merkle.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/parse.ts'

/** One end of an in-memory connection; what it writes, the other end reads. */
export class PipeEnd extends Duplex {
  other!: PipeEnd
  remoteAddress: string | undefined
  remotePort: number | undefined
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (!this.other.destroyed) this.other.push(chunk)
    cb()
  }
  override _final(cb: () => void): void {
    if (!this.other.destroyed) this.other.push(null)
    cb()
  }
  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    if (!this.other.destroyed) this.other.destroy()
    cb(err)
  }
  setNoDelay(): this {
    return this
  }
  setKeepAlive(): this {
    return this
  }
}

/** Two connected ends, typed as sockets for the engine's constructors. */
export const socketPair = (remote?: { address: string; port: number }): [net.Socket, net.Socket] => {
  const a = new PipeEnd()
  const b = new PipeEnd()
  a.other = b
  b.other = a
  if (remote) {
    a.remoteAddress = remote.address
    a.remotePort = remote.port
  }
  return [a as unknown as net.Socket, b as unknown as net.Socket]
}

/** A storage in memory; `failWrites` makes every write reject. */
export class MemoryStorage implements Storage {
  readonly data: Buffer
  failWrites = false
  writes = 0
  closed = false
  constructor(length: number, fill?: Uint8Array) {
    this.data = Buffer.alloc(length)
    if (fill) this.data.set(fill)
  }
  async write(offset: number, data: Uint8Array): Promise<void> {
    this.writes++
    if (this.failWrites) throw new Error('disk full')
    this.data.set(data, offset)
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    return Buffer.from(this.data.subarray(offset, offset + length))
  }
  async stat(): Promise<ReadonlyArray<{ size: number; mtimeMs: number } | null>> {
    return [this.data.some((b) => b !== 0) ? { size: this.data.length, mtimeMs: 1 } : null]
  }
  async close(): Promise<void> {
    this.closed = true
  }
}

/** A single-file v1 metainfo for `data` (no trackers). */
export const metainfoOf = (data: Uint8Array, pieceLength: number, name = 'payload.bin'): Metainfo => {
  const pieceCount = Math.ceil(data.length / pieceLength)
  const hashes = Buffer.alloc(pieceCount * 20)
  for (let i = 0; i < pieceCount; i++) createHash('sha1').update(data.subarray(i * pieceLength, (i + 1) * pieceLength)).digest().copy(hashes, i * 20)
  const infoHashBytes = randomBytes(20)
  return {
    infoHash: infoHashBytes.toString('hex'),
    infoHashBytes,
    name,
    pieceLength,
    lastPieceLength: data.length - (pieceCount - 1) * pieceLength,
    pieceCount,
    length: data.length,
    pieceHashes: hashes,
    files: [{ path: [name], length: data.length, offset: 0, pad: false }],
    announce: [],
    urlList: [],
    private: false,
    infoBytes: Buffer.from('d4:name11:payload.bine')
  }
}

/**
 * A single-file v2-only metainfo for `data` (BEP 52: file tree, pieces root,
 * its piece layer when longer than a piece), parsed as the engine parses a .torrent.
 */
export const v2MetainfoOf = async (data: Uint8Array, pieceLength: number, name = 'payload.bin'): Promise<Metainfo> => {
  const leaves = leafHashes(data)
  const root = fileRoot(leaves)
  const info = { 'file tree': { [name]: { '': { length: data.length, 'pieces root': root } } }, 'meta version': 2, name, 'piece length': pieceLength }
  const layers = data.length > pieceLength ? new Map([[root, pieceLayer(leaves, pieceLength)]]) : undefined
  const r = await parseMetainfo(bencode({ info, 'piece layers': layers }), { acceptV2Only: true })
  if (!r.ok) throw new Error(r.reason)
  return r.value
}

/**
 * A TorrentContext for coordinator tests: room for every connection, inline
 * hashing, no PEX, a 30 s request timeout; `over` replaces any of it.
 */
export const testContext = (hasher: Hasher, over: Partial<TorrentContext> = {}): TorrentContext => ({
  peerId: randomBytes(20).toString('hex'),
  port: 6881,
  hasher,
  canConnect: () => true,
  connectionsChanged() {},
  changed() {},
  maxConnsPerTorrent: 10,
  uploadSlots: 4,
  requestTimeout: 30000,
  banStrikes: 1,
  hashInline: true,
  pex: false,
  ...over
})

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public t = 1_000_000) {}
  readonly now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

/** What a remote peer does: serve `data` (optionally corrupted) and/or request. */
export interface RemoteOptions {
  readonly meta: Metainfo
  /** The bytes it serves; absent: it has nothing. */
  readonly data?: Uint8Array
  /** Alter the bytes of these pieces when serving. */
  readonly corrupt?: (piece: number) => boolean
  readonly peerId?: string
}

/** A remote peer on `socket`: a real bittorrent-protocol Wire that answers our handshake. */
export const remotePeer = (socket: net.Socket, o: RemoteOptions): Wire => {
  const wire = new Wire()
  socket.pipe(wire).pipe(socket)
  const peerId = o.peerId ?? randomBytes(20).toString('hex')
  wire.on('handshake', (infoHash: string) => {
    wire.handshake(infoHash, peerId)
    if (o.data) {
      const bits = new Uint8Array(Math.ceil(o.meta.pieceCount / 8))
      for (let i = 0; i < o.meta.pieceCount; i++) bits[i >> 3]! |= 0x80 >> (i & 7)
      wire.bitfield(bits)
    }
  })
  wire.on('interested', () => wire.unchoke())
  wire.on('request', (piece: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) => {
    if (!o.data) return respond(new Error('nothing to serve'))
    const at = piece * o.meta.pieceLength + offset
    const block = Buffer.from(o.data.subarray(at, at + length))
    if (o.corrupt?.(piece)) block[0] = block[0]! ^ 0xff
    respond(null, block)
  })
  wire.on('error', () => {})
  return wire
}
