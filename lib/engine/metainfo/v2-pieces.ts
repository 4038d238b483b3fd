/**
 * What verifies each piece of a v2 torrent (BEP 52). Every piece lies in one
 * file (files start on piece boundaries; the pad after a file's end is never
 * hashed). A piece of a file longer than one piece checks against its entry in
 * the file's piece layer: the root of the piece's leaves padded to a whole
 * piece. A file of one piece or less is checked against its pieces root: its
 * leaves padded to the next power of two.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import type { Metainfo, V2File } from '../contracts.ts'
import { HASH_SIZE, LEAF_SIZE, merkleRoot, leafHashes, nextPow2, rootOfPieceLayer, sameBytes } from './merkle.ts'

/** How one v2 piece verifies. */
export interface V2PieceTarget {
  /** The 32-byte hash the piece's root must equal; null while the file's piece layer is unknown. */
  readonly expected: Uint8Array | null
  /** Bytes of the piece that belong to the file (the rest is pad and is not hashed). */
  readonly bytes: number
  /** Leaves the root is taken over (a power of two). */
  readonly width: number
  /** The file the piece belongs to. */
  readonly file: V2File
}

/**
 * The v2 targets of a torrent, by piece; null for a torrent without a v2 half.
 *
 * @example
 * const targets = v2Targets(meta)
 * const t = targets?.(17)
 * if (t?.expected) console.log(verifyV2Piece(pieceBytes, t))
 */
export function v2Targets (meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'v2'>): ((piece: number) => V2PieceTarget) | null {
  const v2 = meta.v2
  if (v2 === undefined) return null
  const owner: V2File[] = new Array<V2File>(meta.pieceCount)
  for (const f of v2.files) for (let p = f.firstPiece; p < f.firstPiece + f.pieceCount; p++) owner[p] = f
  const per = meta.pieceLength / LEAF_SIZE
  const layers = new Map<V2File, Uint8Array | undefined>()
  return (piece) => {
    const file = owner[piece]
    if (file === undefined || file.root === null) throw new RangeError(`v2: piece ${piece} belongs to no file`)
    const index = piece - file.firstPiece
    const bytes = Math.min(meta.pieceLength, file.length - index * meta.pieceLength)
    if (file.length <= meta.pieceLength) return { expected: file.root, bytes, width: nextPow2(Math.ceil(file.length / LEAF_SIZE)), file }
    if (!layers.has(file)) layers.set(file, v2.pieceLayers.get(Buffer.from(file.root).toString('hex')))
    const layer = layers.get(file)
    const expected = layer === undefined ? null : layer.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE)
    return { expected, bytes, width: per, file }
  }
}

/**
 * Root of the first `bytes` of `data` over `width` leaves: the piece's v2 hash.
 *
 * @example
 * merkleOfPiece(piece, 20_000, 4) // two leaves and two pad leaves
 */
export function merkleOfPiece (data: Uint8Array, bytes: number, width: number): Uint8Array {
  return merkleRoot(leafHashes(data.subarray(0, bytes)), width)
}

/**
 * True when `data` (the piece, pad included or not) matches its target.
 *
 * @example
 * if (!verifyV2Piece(buf, targets(piece))) picker.failed(piece)
 */
export function verifyV2Piece (data: Uint8Array, target: V2PieceTarget): boolean {
  if (target.expected === null || data.length < target.bytes) return false
  return Buffer.from(merkleOfPiece(data, target.bytes, target.width)).equals(target.expected)
}

/**
 * Null when every file longer than a piece has its piece layer, else the first file missing one.
 *
 * @example
 * const missing = missingPieceLayer(meta) // a magnet's metadata carries no piece layers
 */
export function missingPieceLayer (meta: Pick<Metainfo, 'pieceLength' | 'v2'>): V2File | null {
  for (const f of meta.v2?.files ?? []) {
    if (f.root !== null && f.length > meta.pieceLength && !meta.v2?.pieceLayers.has(Buffer.from(f.root).toString('hex'))) return f
  }
  return null
}

/**
 * `meta` with the piece layers of `layers` (hex pieces root -> packed piece
 * hashes) added, each checked as a .torrent's would be; or why one is refused.
 *
 * @example
 * const full = withPieceLayers(meta, await fetcher.layers)
 * if (typeof full === 'string') fail(full)
 */
export function withPieceLayers (meta: Metainfo, layers: ReadonlyMap<string, Uint8Array>): Metainfo | string {
  const v2 = meta.v2
  if (v2 === undefined) return 'metainfo: the torrent has no v2 half'
  const all = new Map(v2.pieceLayers)
  for (const f of v2.files) {
    if (f.root === null || f.length <= meta.pieceLength) continue
    const key = Buffer.from(f.root).toString('hex')
    const layer = layers.get(key)
    if (layer === undefined) continue
    if (layer.length !== f.pieceCount * HASH_SIZE || !sameBytes(rootOfPieceLayer(layer, meta.pieceLength), f.root)) {
      return `metainfo: the piece layer of "${f.path.join('/')}" does not hash to its pieces root`
    }
    all.set(key, layer)
  }
  return { ...meta, v2: { ...v2, pieceLayers: all } }
}
