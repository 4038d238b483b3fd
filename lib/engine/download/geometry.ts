/**
 * A torrent's piece and block layout: sizes, block requests, numeric block
 * keys, and the validation of a block's place and length.
 *
 * @internal
 * @module
 */
import type { BlockRequest } from '../contracts.ts'

/** Piece layout of a torrent. */
export interface GeometryOptions {
  /** Must equal ceil(length / pieceLength). */
  readonly pieceCount: number
  /** Bytes per piece (all but the last). */
  readonly pieceLength: number
  /** Total torrent length in bytes (pad files included). */
  readonly length: number
  /** Block size; default 16384 (what every client asks for). */
  readonly blockSize?: number
}

/**
 * Piece and block geometry.
 *
 * @example
 * ```ts
 * const g = new PieceGeometry({ pieceCount: 2, pieceLength: 32768, length: 40000 })
 * g.pieceSize(1)        // 7232
 * g.blockRequest(0, 1)  // { piece: 0, offset: 16384, length: 16384 }
 * ```
 */
export class PieceGeometry {
  /** Number of pieces. */
  readonly pieceCount: number
  /** Bytes per piece (all but the last). */
  readonly pieceLength: number
  /** Total bytes. */
  readonly length: number
  /** Bytes per block (all but the last of a piece). */
  readonly blockSize: number
  /** Most blocks any piece has; used to build numeric block keys. */
  protected readonly maxBlocks: number

  /** @throws RangeError on a length, piece length or block size that is not a positive safe integer, or a wrong piece count. */
  constructor(opts: GeometryOptions) {
    const { pieceCount, pieceLength, length } = opts
    const blockSize = opts.blockSize ?? 16384
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad length ${length}`)
    if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`bad piece length ${pieceLength}`)
    if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw new RangeError(`bad block size ${blockSize}`)
    if (pieceCount !== Math.ceil(length / pieceLength)) {
      throw new RangeError(`piece count ${pieceCount} does not match length ${length} / piece length ${pieceLength}`)
    }
    this.pieceCount = pieceCount
    this.pieceLength = pieceLength
    this.length = length
    this.blockSize = blockSize
    this.maxBlocks = Math.ceil(pieceLength / blockSize)
  }

  /** Bytes in piece `piece` (the last one may be shorter). */
  pieceSize(piece: number): number {
    if (!this.inRange(piece)) throw new RangeError(`piece ${piece} out of range`)
    return piece === this.pieceCount - 1 ? this.length - this.pieceLength * (this.pieceCount - 1) : this.pieceLength
  }

  /** Number of blocks in piece `piece`. */
  blocksOf(piece: number): number {
    return Math.ceil(this.pieceSize(piece) / this.blockSize)
  }

  /** The request for block `block` of piece `piece`. */
  blockRequest(piece: number, block: number): BlockRequest {
    const offset = block * this.blockSize
    return { piece, offset, length: Math.min(this.blockSize, this.pieceSize(piece) - offset) }
  }

  protected inRange(piece: number): boolean {
    return Number.isInteger(piece) && piece >= 0 && piece < this.pieceCount
  }

  /** A number unique to block `block` of `piece`. */
  protected key(piece: number, block: number): number {
    return piece * this.maxBlocks + block
  }

  /** Validates a request's geometry; returns its piece and block index. */
  protected locate(req: BlockRequest): { piece: number; block: number } | null {
    const { piece, offset, length } = req
    if (!this.inRange(piece) || !Number.isInteger(offset) || offset < 0 || offset % this.blockSize !== 0) return null
    const block = offset / this.blockSize
    if (block >= this.blocksOf(piece)) return null
    if (length !== Math.min(this.blockSize, this.pieceSize(piece) - offset)) return null
    return { piece, block }
  }
}
