/**
 * Block assembly: accepted blocks become pieces on disk.
 *
 * Each accepted block is copied once into its piece's buffer (which frees the
 * wire's receive buffer at once and gives the hasher a buffer we own) and the
 * contiguous run from the piece's start is written as it reaches
 * WRITE_CHUNK. When the piece is complete and its writes are done, it is
 * hashed (inline as bytes arrive, or on the worker pool, which takes the
 * buffer) and the owner hears the verdict with the senders of every block.
 *
 * Memory is bounded by the pieces in progress plus MAX_BUFFERED of complete
 * pieces waiting for disk or hasher: past it {@link PieceAssembly.full} says
 * "stop requesting" until they drain.
 *
 * @internal
 * @module
 */
import { createHash, type Hash } from 'node:crypto'
import type { Hasher, Metainfo, Storage } from '../contracts.ts'
import type { PendingIo } from '../torrent/pending-io.ts'
import { v2Targets, verifyV2Piece, type V2PieceTarget } from '../metainfo/v2-pieces.ts'

/**
 * Most bytes of complete pieces held in memory per torrent while they are
 * written and hashed. Past it no new requests go out until pieces drain.
 */
export const MAX_BUFFERED = 8 << 20

/**
 * Bytes of spare piece buffers a downloading torrent keeps for its next
 * pieces (released once it is complete). The pieces open at once swing
 * between a few and several dozen (pipelines plus MAX_BUFFERED); with 16
 * spares, 1,867 of a 1 GiB download's 4,096 pieces got fresh 256 KiB buffers,
 * and V8 collected them in a 30 MiB sawtooth of external memory.
 */
export const SPARE_BYTES = 16 << 20

/** Contiguous bytes of a piece gathered before they are written. */
export const WRITE_CHUNK = 64 * 1024

/** What a settled piece attempt tells its owner. */
export interface PieceAttempt {
  /** Bytes each sender contributed, by peer id. */
  readonly senders: ReadonlyMap<string, number>
  /** Sender of each block (by block index). */
  readonly from: readonly (string | undefined)[]
  /**
   * The piece's bytes as they were hashed: its buffer when it was hashed
   * inline (still intact: nothing reuses it before `use` returns), else read
   * back from storage (the buffer went to a worker). `use` gets null on a
   * read error.
   */
  data(use: (data: Uint8Array | null) => void): void
  /**
   * The verified piece's buffer, given away: the assembly never reuses it,
   * and nothing writes to it again. Null when the piece failed, when its
   * buffer went to a worker to be hashed, or once taken. Call it only
   * during `settled`. (Optional: a piece from elsewhere may have no buffer to give.)
   */
  take?(): Uint8Array | null
}

/** What the assembly needs from its torrent. */
export interface AssemblyOptions {
  /** Piece length and hashes (20 bytes each; a v2 torrent's pieces verify against its merkle roots). */
  readonly meta: Pick<Metainfo, 'pieceLength' | 'pieceHashes' | 'pieceCount' | 'version' | 'v2'>
  /** Block and piece sizes, and whether every piece is had (then spare buffers are of no more use). */
  readonly pieces: { readonly blockSize: number; pieceSize(piece: number): number; isComplete(): boolean }
  readonly storage: Pick<Storage, 'write' | 'read'>
  readonly hasher: Pick<Hasher, 'verify' | 'verifyMerkle'>
  /** Hash as bytes arrive on this thread instead of on the hasher. */
  readonly hashInline: boolean
  readonly io: PendingIo
  /** The torrent is closed: results are dropped. */
  closed(): boolean
  /** The piece's hash check is over and its bytes are on disk. */
  settled(piece: number, ok: boolean, attempt: PieceAttempt): void
  /** A write or hash failed: the torrent cannot go on. */
  failed(reason: string): void
  /** Back-pressure is over: pipelines may be refilled. */
  drained(): void
}

interface PieceBuffer {
  readonly buf: Buffer
  /** Received flag per block. */
  readonly got: Uint8Array
  /** Blocks received contiguously from the piece's start. */
  contig: number
  /** Bytes from the start already handed to storage. */
  written: number
  /** Running SHA-1 of bytes [0, written), when pieces are hashed as they arrive. */
  readonly hash: Hash | null
  pendingWrites: number
  complete: boolean
  readonly senders: Map<string, number>
  readonly from: string[]
}

/**
 * The pieces of one torrent being received, written and verified.
 *
 * @example
 * ```ts
 * const asm = new PieceAssembly({ meta, pieces: picker, storage, hasher, hashInline: false, io, closed, failed, drained,
 *   settled: (piece, ok) => (ok ? picker.verified(piece) : picker.failed(piece)) })
 * asm.add(piece, offset, block, peer.id, res.pieceComplete)
 * if (asm.full()) return // no new requests until pieces drain
 * ```
 */
export class PieceAssembly {
  private readonly pieces = new Map<number, PieceBuffer>()
  /** Spare full-size piece buffers: reusing them keeps allocation churn (and RSS) down at speed. */
  private readonly spare: Buffer[] = []
  /**
   * Bytes of complete pieces still being written or hashed. Bounded by
   * MAX_BUFFERED; pieces still receiving are bounded by the request pipelines
   * (and must not count here: throttling them could stop them ever completing).
   */
  private buffered = 0
  private throttled = false
  /** How v2 pieces verify; null when pieces verify with SHA-1 (v1 and hybrid torrents). */
  private readonly v2: ((piece: number) => V2PieceTarget) | null

  constructor(private readonly o: AssemblyOptions) {
    this.v2 = o.meta.version === 'v2' ? v2Targets(o.meta) : null
  }

  /** Copy an accepted block into its piece (`data` is valid only during the call) and write what is ready. */
  add(piece: number, offset: number, data: Uint8Array, sender: string, pieceComplete: boolean): void {
    const B = this.o.pieces.blockSize
    let pb = this.pieces.get(piece)
    if (!pb) {
      const size = this.o.pieces.pieceSize(piece)
      pb = {
        buf: (size === this.o.meta.pieceLength ? this.spare.pop() : undefined) ?? Buffer.allocUnsafe(size),
        got: new Uint8Array(Math.ceil(size / B)),
        contig: 0,
        written: 0,
        hash: this.o.hashInline && this.v2 === null ? createHash('sha1') : null,
        pendingWrites: 0,
        complete: false,
        senders: new Map(),
        from: []
      }
      this.pieces.set(piece, pb)
    }
    pb.buf.set(data, offset)
    pb.senders.set(sender, (pb.senders.get(sender) ?? 0) + data.length)
    pb.from[offset / B] = sender
    if (pieceComplete) {
      pb.complete = true
      this.buffered += pb.buf.length
    }
    // Write as data arrives, but coalesced: the contiguous run of received
    // blocks goes out once it reaches WRITE_CHUNK (and the rest when the
    // piece completes). One write per 16 KiB block cost more CPU than
    // anything else on the download path.
    pb.got[offset / B] = 1
    while (pb.contig < pb.got.length && pb.got[pb.contig]) pb.contig++
    const ready = Math.min(pb.contig * B, pb.buf.length)
    if (pb.complete) this.writeRange(piece, pb, pb.written, pb.buf.length)
    else if (ready - pb.written >= WRITE_CHUNK) this.writeRange(piece, pb, pb.written, ready)
  }

  /** Disk or hasher behind the network: true while no new request should go out (memory stays bounded). */
  full(): boolean {
    if (this.buffered <= MAX_BUFFERED) return false
    this.throttled = true
    return true
  }

  /** Pieces held in memory (in progress or waiting for disk or hasher). */
  get open(): number {
    return this.pieces.size
  }

  /** Forget every piece (the torrent closed or failed). */
  clear(): void {
    this.pieces.clear()
  }

  private writeRange(piece: number, pb: PieceBuffer, from: number, to: number): void {
    pb.written = to
    // Ranges come in order from the piece's start, so the running hash sees the piece in order.
    if (pb.hash && to > from) pb.hash.update(pb.buf.subarray(from, to))
    if (to <= from) {
      if (pb.complete && pb.pendingWrites === 0) this.verify(piece, pb)
      return
    }
    pb.pendingWrites++
    this.o.io.track(this.o.storage.write(piece * this.o.meta.pieceLength + from, pb.buf.subarray(from, to))).then(
      () => {
        pb.pendingWrites--
        if (pb.complete && pb.pendingWrites === 0) this.verify(piece, pb)
      },
      (e: Error) => {
        pb.pendingWrites--
        this.o.failed(`cannot write: ${e.message}`)
      }
    )
  }

  /** Forgets a piece; its buffer is kept for reuse unless `recycle` is false (settle recycles it after its owner heard). */
  private drop(piece: number, pb: PieceBuffer, recycle = true): void {
    if (this.pieces.get(piece) !== pb) return
    this.pieces.delete(piece)
    if (pb.complete) this.buffered -= this.o.pieces.pieceSize(piece)
    if (recycle) this.recycle(pb)
    if (this.throttled && this.buffered <= MAX_BUFFERED / 2) {
      this.throttled = false
      this.o.drained()
    }
  }

  private recycle(pb: PieceBuffer): void {
    // Reusable unless it went to a worker (moved buffers come back detached, length 0).
    if (this.o.pieces.isComplete()) this.spare.length = 0
    else if (pb.pendingWrites === 0 && pb.buf.length === this.o.meta.pieceLength && (this.spare.length + 1) * this.o.meta.pieceLength <= SPARE_BYTES)
      this.spare.push(pb.buf)
  }

  private verify(piece: number, pb: PieceBuffer): void {
    if (this.v2 !== null) return this.verifyV2(piece, pb, this.v2(piece))
    const expected = this.o.meta.pieceHashes.subarray(piece * 20, piece * 20 + 20)
    if (pb.hash) {
      this.settle(piece, pb, Buffer.from(expected.buffer, expected.byteOffset, 20).equals(pb.hash.digest()))
      return
    }
    // Every write of the piece is done, so its buffer can move to the worker (zero-copy).
    this.o.io.track(this.o.hasher.verify([pb.buf], expected, { transfer: true })).then(
      (ok) => this.settle(piece, pb, ok),
      (e: Error) => {
        this.drop(piece, pb)
        if (!this.o.closed()) this.o.failed(`hashing failed: ${e.message}`)
      }
    )
  }

  private verifyV2(piece: number, pb: PieceBuffer, target: V2PieceTarget): void {
    const verifyMerkle = this.o.hasher.verifyMerkle?.bind(this.o.hasher)
    if (this.o.hashInline || verifyMerkle === undefined || target.expected === null) {
      this.settle(piece, pb, verifyV2Piece(pb.buf, target))
      return
    }
    this.o.io.track(verifyMerkle(pb.buf, target.bytes, target.width, target.expected, { transfer: true })).then(
      (ok) => this.settle(piece, pb, ok),
      (e: Error) => {
        this.drop(piece, pb)
        if (!this.o.closed()) this.o.failed(`hashing failed: ${e.message}`)
      }
    )
  }

  private settle(piece: number, pb: PieceBuffer, ok: boolean): void {
    this.drop(piece, pb, false)
    if (this.o.closed()) return
    let taken = false
    this.o.settled(piece, ok, {
      senders: pb.senders,
      from: pb.from,
      data: (use) => this.pieceData(piece, pb, use),
      take: () => {
        if (!ok || taken || pb.buf.length !== this.o.pieces.pieceSize(piece)) return null
        taken = true
        return pb.buf
      }
    })
    // after the owner heard: a buffer it did not take is reused for a later piece
    if (!taken) this.recycle(pb)
  }

  private pieceData(piece: number, pb: PieceBuffer, use: (data: Uint8Array | null) => void): void {
    const size = this.o.pieces.pieceSize(piece)
    if (pb.buf.length === size) return use(pb.buf)
    this.o.io.track(this.o.storage.read(piece * this.o.meta.pieceLength, size)).then(use, () => use(null))
  }
}
