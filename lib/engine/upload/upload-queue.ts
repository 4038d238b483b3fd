/**
 * Serving peers' requests: each request is checked, queued per peer, read
 * (through the read cache) only as the peer takes the answers, paced by the
 * upload limit, and sent straight to the socket when the wire has nothing
 * queued.
 *
 * Memory per peer is bounded twice: at most MAX_UPLOAD_QUEUE requests wait
 * (a few bytes each), and answers are read only while the peer's unsent
 * bytes stay under UPLOAD_BUFFER; past it the queue waits for the socket's
 * 'drain'. The pacing FIFO is one per torrent, so budget is shared fairly in
 * arrival order across peers.
 *
 * @internal
 * @module
 */
import type Wire from 'bittorrent-protocol'
import { ReadCache, READ_SPAN, READ_SPANS } from './read-cache.ts'
import type { Storage } from '../contracts.ts'
import type { PendingIo } from '../torrent/pending-io.ts'
import { sendBlock } from './block-writer.ts'
import { corkForTurn } from '../wire/cork.ts'
import { MAX_REQUEST } from '../wire/peer.ts'
import type { PeerSocket } from '../wire/transport.ts'

/**
 * Upload requests queued per peer. libtorrent leechers pipeline up to 500 by
 * default (max_out_request_queue) and libtorrent as a seed accepts 2000
 * (max_allowed_in_request_queue) and drops the rest; we close a peer that
 * queues more than that: an honest client never needs it.
 */
export const MAX_UPLOAD_QUEUE = 2000

/** Answer bytes (queued in the wire and socket, or being read) per peer before reads pause. */
export const UPLOAD_BUFFER = 1 << 20

/** A request's answer callback (bittorrent-protocol's `respond`). */
export type Respond = (err: Error | null, buf?: Uint8Array) => void

/** What the upload queue needs of a peer. */
export interface UploadPeer {
  readonly closed: boolean
  /** The peer's wire (`amChoking`: after our choke the library drops answers to earlier requests, but for allowed-fast pieces). */
  readonly wire: Wire
  /** Where answers go (corked per turn; 'drain' resumes reading). */
  readonly socket: PeerSocket
  /** Bytes queued in the wire and the socket, not yet on the network. */
  outgoingBytes(): number
  close(reason: string): void
}

/** What the upload queue needs from its torrent. */
export interface UploadQueueOptions {
  /** Piece layout and what we have (verified). */
  readonly pieces: { readonly pieceCount: number; readonly pieceLength: number; readonly length: number; have(piece: number): boolean; pieceSize(piece: number): number }
  /** Where answers are read (through a cache of recently read spans). */
  readonly storage: Pick<Storage, 'read' | 'readInto'>
  /** Upload budget: wait in ms before `bytes` may leave (0: now, charged). */
  readonly throttle: { take(bytes: number, now: number): number }
  readonly io: PendingIo
  readonly now: () => number
  /** `bytes` of payload went to a peer (stats). */
  sent(bytes: number): void
  /** The torrent is closed: nothing more is read or sent. */
  closed(): boolean
}

interface PeerQueue {
  readonly requests: { piece: number; offset: number; length: number; respond: Respond }[]
  /** Bytes read (or being read) for this peer, not yet handed to the wire. */
  reading: number
  /** A 'drain' listener is set to resume reading. */
  awaitingDrain: boolean
}

/**
 * One torrent's upload queues and pacing.
 *
 * @example
 * ```ts
 * const uploads = new UploadQueue({ pieces: picker, storage, throttle, io, now: Date.now, sent, closed })
 * // PeerHandler.onRequest:
 * uploads.request(peer, piece, offset, length, respond)
 * ```
 */
export class UploadQueue {
  private readonly queues = new WeakMap<UploadPeer, PeerQueue>()
  /** Blocks read and waiting for upload budget, in arrival order. */
  private readonly paced: { peer: UploadPeer; length: number; send: () => void }[] = []
  private pacedTimer: NodeJS.Timeout | null = null
  /** Spans of pieces recently read for uploads (blocks are answered from them). */
  private readonly cache: ReadCache

  constructor(private readonly o: UploadQueueOptions) {
    const { storage, pieces } = o
    // Into unzeroed, recycled span buffers when the storage can (every byte is overwritten).
    const readInto = storage.readInto?.bind(storage)
    this.cache = new ReadCache(
      (offset, length) => (readInto ? readInto(offset, Buffer.allocUnsafeSlow(length)) : storage.read(offset, length)),
      pieces.pieceLength,
      pieces.length,
      READ_SPAN,
      READ_SPANS,
      readInto
    )
  }

  /**
   * A peer's request. One we cannot honestly answer (a piece we lack, out of
   * range, too long) is a protocol violation and closes the peer, as does a
   * queue deeper than MAX_UPLOAD_QUEUE.
   */
  request(peer: UploadPeer, piece: number, offset: number, length: number, respond: Respond): void {
    if (
      !Number.isInteger(piece) ||
      piece < 0 ||
      piece >= this.o.pieces.pieceCount ||
      !this.o.pieces.have(piece) ||
      length <= 0 ||
      length > MAX_REQUEST ||
      offset < 0 ||
      offset + length > this.o.pieces.pieceSize(piece)
    ) {
      peer.close('bad request')
      return
    }
    const q = this.queueOf(peer)
    if (q.requests.length >= MAX_UPLOAD_QUEUE) {
      peer.close(`more than ${MAX_UPLOAD_QUEUE} queued requests`)
      return
    }
    q.requests.push({ piece, offset, length, respond })
    this.pump(peer)
  }

  /** Requests waiting for `peer` (diagnostics, tests). */
  queued(peer: UploadPeer): number {
    return this.queues.get(peer)?.requests.length ?? 0
  }

  /** Stop: drop paced blocks, their timer and the read cache. */
  clear(): void {
    if (this.pacedTimer !== null) clearTimeout(this.pacedTimer)
    this.pacedTimer = null
    this.paced.length = 0
    this.cache.clear()
  }

  private queueOf(peer: UploadPeer): PeerQueue {
    let q = this.queues.get(peer)
    if (q === undefined) this.queues.set(peer, (q = { requests: [], reading: 0, awaitingDrain: false }))
    return q
  }

  /** Read and send queued answers while the peer's unsent bytes stay under UPLOAD_BUFFER; resumes on 'drain'. */
  private pump(peer: UploadPeer): void {
    const q = this.queueOf(peer)
    while (q.requests.length > 0 && !peer.closed && !this.o.closed()) {
      if (peer.outgoingBytes() + q.reading >= UPLOAD_BUFFER) {
        if (!q.awaitingDrain) {
          q.awaitingDrain = true
          peer.socket.once('drain', () => {
            q.awaitingDrain = false
            this.pump(peer)
          })
        }
        return
      }
      const { piece, offset, length, respond } = q.requests.shift()!
      // A choked peer keeps only its requests for allowed-fast pieces (BEP 6: the wire rejected the rest): serve those.
      if (peer.wire.amChoking && !(peer.wire.hasFast && peer.wire.allowedFastSet.includes(piece))) continue
      this.serve(peer, q, piece, offset, length, respond)
    }
  }

  private serve(peer: UploadPeer, q: PeerQueue, piece: number, offset: number, length: number, respond: Respond): void {
    // Counted from the read until the wire has the bytes (pacing may hold them).
    q.reading += length
    this.o.io.track(this.cache.lease(piece, offset, length)).then(
      ({ data, release }) => {
        // An unreleased lease only means its span buffer is not recycled.
        if (peer.closed || this.o.closed()) return
        const send = (): void => {
          if (peer.closed || this.o.closed()) return
          // The answers of this turn leave in one writev.
          corkForTurn(peer.socket)
          q.reading -= length
          this.o.sent(length)
          // Straight to the socket when the wire has nothing queued; the span
          // is released once the socket is done with the block.
          sendBlock(peer.wire, peer.socket, respond, piece, offset, data, release)
          this.pump(peer)
        }
        this.pace(peer, length, send)
      },
      (e: Error) => {
        q.reading -= length
        respond(e)
        this.pump(peer)
      }
    )
  }

  /**
   * Upload limit: `send` (a block already read) goes now if the budget
   * allows and nobody waits before it, else in FIFO order as budget comes.
   * The per-peer read queue bounds what waits here.
   */
  private pace(peer: UploadPeer, length: number, send: () => void): void {
    if (this.paced.length === 0 && this.o.throttle.take(length, this.o.now()) === 0) return send()
    this.paced.push({ peer, length, send })
    this.pumpPaced()
  }

  private pumpPaced(): void {
    if (this.pacedTimer !== null || this.o.closed()) return
    while (this.paced.length > 0) {
      const job = this.paced[0]!
      // A gone or choked peer's block would not leave: it costs no budget.
      if (job.peer.closed || job.peer.wire.amChoking) {
        this.paced.shift()
        job.send()
        continue
      }
      const wait = this.o.throttle.take(job.length, this.o.now())
      if (wait > 0) {
        this.pacedTimer = setTimeout(() => {
          this.pacedTimer = null
          this.pumpPaced()
        }, wait)
        return
      }
      this.paced.shift()
      job.send()
    }
  }
}
