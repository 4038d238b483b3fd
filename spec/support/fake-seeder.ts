/**
 * An in-process BitTorrent seeder on 127.0.0.1 built on bittorrent-protocol, serving a
 * torrent's data from disk, with faults to order: corrupt pieces, connections dropped after
 * N bytes, a seeder that dies after N bytes, slow blocks, missing pieces. Engine tests use it
 * as the dishonest or flaky peer next to a real client.
 *
 * The torrent is described by the fields parse-torrent returns (pass its result as is).
 */
import Wire from 'bittorrent-protocol'
import { Client } from 'bittorrent-tracker'
import { randomBytes } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { join } from 'node:path'

/** The fields of a parsed torrent the seeder needs (parse-torrent's result fits). */
export interface SeedableTorrent {
  /** 40 hex digits. */
  readonly infoHash: string
  readonly pieceLength: number
  /** Total size in bytes. */
  readonly length: number
  /** Files in torrent order; `path` includes the torrent name for multi-file torrents. */
  readonly files: ReadonlyArray<{ readonly path: string, readonly length: number, readonly offset: number }>
}

/** Options of {@link startFakeSeeder}. */
export interface FakeSeederOptions {
  readonly torrent: SeedableTorrent
  /** Folder the files' paths are relative to (aria2c's -d: the parent of a multi-file torrent's folder). */
  readonly dir: string
  /** Pieces to serve with wrong bytes (every block of the piece is altered). */
  readonly corrupt?: (piece: number) => boolean
  /** Close each connection once it has sent this many bytes of block data. */
  readonly dropAfterBytes?: number
  /** Once this many block bytes were sent in total, close every connection and refuse new ones (a seeder that died). */
  readonly dieAfterBytes?: number
  /** Delay before answering each block request, in ms. */
  readonly slowMs?: number
  /** Pieces the seeder has (advertised in its bitfield and served). Default: all. */
  readonly has?: (piece: number) => boolean
  /** Announce to these trackers (HTTP/UDP) as a seeder, e.g. so that aria2c can find it. */
  readonly announce?: readonly string[]
  /** TCP port (default: any free one). */
  readonly port?: number
  /** Called for every connection once the handshake was exchanged, for custom misbehaviour. */
  readonly onWire?: (wire: Wire, socket: Socket) => void
}

/** Counters of what the seeder did. */
export interface FakeSeederStats {
  readonly connections: number
  readonly requests: number
  readonly blocksSent: number
  readonly bytesSent: number
  readonly corruptBlocksSent: number
  /** Connections closed because of dropAfterBytes/dieAfterBytes. */
  readonly drops: number
  /** Requests refused as invalid (out of range, too long, a piece we lack): the connection was closed. */
  readonly badRequests: number
  /** Remote addresses that completed a handshake ("ip:port"). */
  readonly peers: readonly string[]
}

/** A running fake seeder. */
export interface FakeSeeder {
  readonly port: number
  /** "127.0.0.1:PORT", to give to a client as an explicit peer. */
  readonly peer: string
  readonly peerId: string
  stats(): FakeSeederStats
  /** Dials a peer ("host:port") and serves it like an incoming one. */
  connect(peer: string): Promise<void>
  /** Closes the listener, every connection and file, and stops announcing. Safe to call twice. */
  close(): Promise<void>
}

const MAX_BLOCK = 128 * 1024

/**
 * Starts a seeder for `torrent` from the data under `dir`.
 *
 * @example
 * const parsed = await parseTorrent(torrentBytes)
 * const liar = await startFakeSeeder({ torrent: parsed, dir: seedParent, corrupt: (i) => i % 2 === 0 })
 * t.after(() => liar.close())
 * // engine: explicit peers [liar.peer, honest.peer]; expect hash failures and a ban of liar.peer
 */
export async function startFakeSeeder (options: FakeSeederOptions): Promise<FakeSeeder> {
  const { torrent } = options
  const infoHash = torrent.infoHash.toLowerCase()
  const pieceCount = Math.ceil(torrent.length / torrent.pieceLength)
  const pieceSize = (i: number): number => i === pieceCount - 1 ? torrent.length - i * torrent.pieceLength : torrent.pieceLength
  const has = options.has ?? (() => true)
  const peerId = Buffer.concat([Buffer.from('-FS0001-'), randomBytes(12)]).toString('hex')

  const bitfield = new Uint8Array(Math.ceil(pieceCount / 8))
  for (let i = 0; i < pieceCount; i++) if (has(i)) bitfield[i >> 3]! |= 0x80 >> (i & 7)

  const handles = new Map<string, Promise<FileHandle>>()
  const fileHandle = (path: string): Promise<FileHandle> => {
    let h = handles.get(path)
    if (h === undefined) {
      h = open(join(options.dir, path), 'r')
      handles.set(path, h)
    }
    return h
  }
  /** Reads `length` bytes at torrent offset `start`, across file boundaries. */
  const readAt = async (start: number, length: number): Promise<Buffer> => {
    const out = Buffer.alloc(length)
    for (const file of torrent.files) {
      const from = Math.max(start, file.offset)
      const to = Math.min(start + length, file.offset + file.length)
      if (from >= to) continue
      const h = await fileHandle(file.path)
      const { bytesRead } = await h.read(out, from - start, to - from, from - file.offset)
      if (bytesRead !== to - from) throw new Error(`short read in ${file.path}`)
    }
    return out
  }

  const counters = { connections: 0, requests: 0, blocksSent: 0, bytesSent: 0, corruptBlocksSent: 0, drops: 0, badRequests: 0 }
  const peers: string[] = []
  const sockets = new Map<Socket, Wire>()
  let dead = false
  let closed = false

  /** Hang up after what was already queued has been written (destroy() would discard it). */
  const hangUp = (socket: Socket): void => {
    const wire = sockets.get(socket)
    if (wire !== undefined && !wire.destroyed) wire.end()
    else socket.end()
    setTimeout(() => socket.destroy(), 1000).unref()
  }
  const die = (): void => {
    dead = true
    for (const s of sockets.keys()) hangUp(s)
  }

  const serve = (socket: Socket, outgoing: boolean): void => {
    if (dead || closed) { socket.destroy(); return }
    const wire = new Wire(outgoing ? 'tcpOutgoing' : 'tcpIncoming')
    sockets.set(socket, wire)
    counters.connections++
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
    wire.on('error', () => {})
    socket.pipe(wire).pipe(socket)
    let sentHere = 0
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`

    wire.on('handshake', (theirHash: string) => {
      if (theirHash.toLowerCase() !== infoHash) { socket.destroy(); return }
      if (!outgoing) wire.handshake(infoHash, peerId, { dht: false })
      peers.push(remote)
      wire.bitfield(bitfield)
      options.onWire?.(wire, socket)
    })
    wire.on('interested', () => wire.unchoke())
    wire.on('request', (index: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) => {
      counters.requests++
      if (index >= pieceCount || !has(index) || length <= 0 || length > MAX_BLOCK || offset + length > pieceSize(index)) {
        counters.badRequests++
        socket.destroy()
        return
      }
      const answer = async (): Promise<void> => {
        if (options.slowMs !== undefined && options.slowMs > 0) await new Promise((resolve) => setTimeout(resolve, options.slowMs))
        if (socket.destroyed) return
        const block = await readAt(index * torrent.pieceLength + offset, length)
        if (options.corrupt?.(index) === true) {
          for (let i = 0; i < block.length; i++) block[i]! ^= 0x5a
          counters.corruptBlocksSent++
        }
        if (socket.destroyed) return
        respond(null, block)
        counters.blocksSent++
        counters.bytesSent += length
        sentHere += length
        if (options.dieAfterBytes !== undefined && counters.bytesSent >= options.dieAfterBytes) {
          counters.drops += sockets.size
          die()
        } else if (options.dropAfterBytes !== undefined && sentHere >= options.dropAfterBytes) {
          counters.drops++
          hangUp(socket)
        }
      }
      answer().catch(() => socket.destroy())
    })
    if (outgoing) wire.handshake(infoHash, peerId, { dht: false })
  }

  const server: Server = createServer((socket) => serve(socket, false))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: options.port ?? 0, host: '127.0.0.1' }, () => resolve())
  })
  server.on('error', () => {})
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0

  let tracker: Client | undefined
  if (options.announce !== undefined && options.announce.length > 0) {
    tracker = new Client({ infoHash, peerId, announce: [...options.announce], port })
    tracker.on('error', () => {})
    tracker.on('warning', () => {})
    tracker.start({ left: 0, uploaded: 0, downloaded: 0 })
  }

  let closing: Promise<void> | undefined
  return {
    port,
    peer: `127.0.0.1:${port}`,
    peerId,
    stats: () => ({ ...counters, peers: [...peers] }),
    connect: (peer) => new Promise<void>((resolve, reject) => {
      const at = peer.lastIndexOf(':')
      const socket = connect({ host: peer.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(peer.slice(at + 1)) })
      socket.once('error', reject)
      socket.once('connect', () => { serve(socket, true); resolve() })
    }),
    close: () => {
      closing ??= (async () => {
        closed = true
        if (tracker !== undefined) {
          const t = tracker
          t.stop({ left: 0 })
          await new Promise<void>((resolve) => t.destroy(() => resolve()))
        }
        dead = true
        for (const s of sockets.keys()) s.destroy()
        await new Promise<void>((resolve) => server.close(() => resolve()))
        for (const h of handles.values()) await h.then((fh) => fh.close(), () => {})
      })()
      return closing
    }
  }
}
