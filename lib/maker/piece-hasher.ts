/**
 * Streaming a torrent's source files for hashing: each file's chunks, read
 * once, with a check that the file keeps the size it was listed with; and
 * SHA-1 pieces over chunks of any size (v1 pieces over the concatenated
 * files, or a hybrid's per-file pieces).
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import { Buffer } from 'node:buffer'
import { createHash, type Hash } from 'node:crypto'

/** Chunks of a file read for hashing. */
const READ_CHUNK = 1024 * 1024

/**
 * The chunks of file `f`; throws once it shows another size than
 * `f.length` (it changed while the torrent is made), without reading past it.
 *
 * @example
 * for await (const chunk of fileChunks({ abs: '/srv/a.bin', length: 70_000 })) hasher.update(chunk)
 */
export async function* fileChunks (f: { readonly abs: string; readonly length: number }): AsyncGenerator<Buffer> {
  let seen = 0
  for await (const chunk of createReadStream(f.abs, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
    seen += chunk.length
    if (seen > f.length) break
    yield chunk
  }
  if (seen !== f.length) throw new Error(`${f.abs} changed size while hashing (${f.length} -> ${seen} bytes)`)
}

/**
 * SHA-1 of consecutive pieces of `pieceLength` bytes over whatever chunks it is fed.
 *
 * @example
 * const h = new PieceHasher(65536)
 * for await (const chunk of fileChunks(f)) h.update(chunk)
 * const pieces = h.finish() // the last piece short, or `finish(true)` for it zero-filled
 */
export class PieceHasher {
  /** SHA-1 of each completed piece, in order. */
  readonly digests: Buffer[] = []
  private hash: Hash = createHash('sha1')
  private filled = 0

  constructor (private readonly pieceLength: number) {}

  /** Hash the next bytes of the stream. */
  update (chunk: Uint8Array): void {
    let at = 0
    while (at < chunk.length) {
      const take = Math.min(this.pieceLength - this.filled, chunk.length - at)
      this.hash.update(chunk.subarray(at, at + take))
      this.filled += take
      at += take
      if (this.filled === this.pieceLength) {
        this.digests.push(this.hash.digest())
        this.hash = createHash('sha1')
        this.filled = 0
      }
    }
  }

  /** Close the last piece if it is short (zero-filled to a whole piece with `zeroFill`, as a pad file reads) and return every digest. */
  finish (zeroFill = false): Buffer[] {
    if (this.filled > 0) {
      if (zeroFill) this.hash.update(Buffer.alloc(this.pieceLength - this.filled))
      this.digests.push(this.hash.digest())
      this.hash = createHash('sha1')
      this.filled = 0
    }
    return this.digests
  }
}
