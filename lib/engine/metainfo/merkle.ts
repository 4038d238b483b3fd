/**
 * BitTorrent v2 merkle trees (BEP 52): SHA-256 over 16 KiB leaves, each
 * file its own tree, the leaf count padded to a power of two. A pad leaf is 32
 * zero bytes; a pad node higher up is the root of a subtree of pad leaves, so
 * a file's root does not depend on the layer it is computed from.
 *
 * Everything here is pure and synchronous over byte arrays: the checker and
 * the wire call it with data they already hold.
 *
 * @module
 */
import { createHash } from 'node:crypto'

/** Bytes per merkle leaf (and per wire block). */
export const LEAF_SIZE = 16 * 1024

/** Bytes of one SHA-256 digest. */
export const HASH_SIZE = 32

const zeroHashes: Uint8Array[] = [new Uint8Array(HASH_SIZE)]

/**
 * Root of a subtree of 2^level pad leaves (level 0: 32 zero bytes).
 *
 * @example
 * padHash(0) // 32 zero bytes
 * padHash(2) // sha256(padHash(1) + padHash(1))
 */
export function padHash (level: number): Uint8Array {
  if (!Number.isInteger(level) || level < 0 || level > 62) throw new RangeError(`merkle: pad level ${level} out of range`)
  while (zeroHashes.length <= level) {
    const below = zeroHashes[zeroHashes.length - 1] as Uint8Array
    zeroHashes.push(hashPair(below, below))
  }
  return zeroHashes[level] as Uint8Array
}

/** SHA-256 of `a` followed by `b`: one inner node. */
export function hashPair (a: Uint8Array, b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(a).update(b).digest())
}

/** SHA-256 of one leaf's bytes (16 KiB, or less at the end of a file). */
export function leafHash (block: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(block).digest())
}

/**
 * Smallest power of two at or above `n` (1 for 0 and 1).
 *
 * @example
 * nextPow2(5) // 8
 */
export function nextPow2 (n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

/** log2 of a power of two. */
export function log2 (p: number): number {
  return Math.round(Math.log2(p))
}

/**
 * Leaf hashes of `data` (a whole file, or a piece of it starting on a leaf boundary).
 *
 * @example
 * leafHashes(new Uint8Array(40_000)).length // 3
 */
export function leafHashes (data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < data.length; at += LEAF_SIZE) out.push(leafHash(data.subarray(at, Math.min(at + LEAF_SIZE, data.length))))
  return out
}

/**
 * Root of a layer of `nodes` padded to `width` (a power of two, at least
 * nodes.length) with pad nodes of `padLevel` (the level of the layer above the leaves).
 *
 * @example
 * merkleRoot(leafHashes(block), 4) // a file of one block: its leaf hash and three pad leaves
 */
export function merkleRoot (nodes: readonly Uint8Array[], width: number = nextPow2(nodes.length), padLevel = 0): Uint8Array {
  if (width < nodes.length || (width & (width - 1)) !== 0) throw new RangeError(`merkle: width ${width} for ${nodes.length} nodes`)
  let layer: readonly Uint8Array[] = nodes
  let level = padLevel
  for (let w = width; w > 1; w /= 2) {
    const next: Uint8Array[] = []
    const pad = padHash(level)
    for (let i = 0; i < w; i += 2) {
      if (i >= layer.length) {
        next.push(padHash(level + 1))
        // Every remaining pair is pad-only: their parents are all the same pad node.
        break
      }
      next.push(hashPair(layer[i] as Uint8Array, layer[i + 1] ?? pad))
    }
    layer = next
    level++
  }
  return layer.length === 0 ? padHash(level) : layer[0] as Uint8Array
}

/** Number of leaves under one piece. */
export function leavesPerPiece (pieceLength: number): number {
  return pieceLength / LEAF_SIZE
}

/**
 * The `pieces root` of a file from its leaf hashes.
 *
 * @example
 * fileRoot(leafHashes(await readFile('a.bin')))
 */
export function fileRoot (leaves: readonly Uint8Array[]): Uint8Array {
  return merkleRoot(leaves, nextPow2(Math.max(1, leaves.length)))
}

/**
 * The piece-level hash that verifies one piece of a file: for a file longer
 * than one piece, the root of the piece's leaves padded to a whole piece; for a
 * file of one piece or less, the file's root itself.
 *
 * @example
 * const h = pieceHash(leafHashes(pieceBytes), 262144, false)
 */
export function pieceHash (leaves: readonly Uint8Array[], pieceLength: number, multiPieceFile: boolean): Uint8Array {
  const per = leavesPerPiece(pieceLength)
  if (leaves.length > per) throw new RangeError(`merkle: ${leaves.length} leaves in a piece of ${per}`)
  return multiPieceFile ? merkleRoot(leaves, per) : fileRoot(leaves)
}

/**
 * The piece layer of a file longer than one piece (BEP 52's `piece layers`
 * value): one piece hash per piece, concatenated.
 *
 * @example
 * const layer = pieceLayer(leafHashes(file), 65536)
 */
export function pieceLayer (leaves: readonly Uint8Array[], pieceLength: number): Uint8Array {
  const per = leavesPerPiece(pieceLength)
  const pieces = Math.ceil(leaves.length / per)
  const out = new Uint8Array(pieces * HASH_SIZE)
  for (let p = 0; p < pieces; p++) out.set(merkleRoot(leaves.slice(p * per, (p + 1) * per), per), p * HASH_SIZE)
  return out
}

/**
 * Root of a file from its piece layer (concatenated piece hashes).
 *
 * @example
 * equal(rootOfPieceLayer(layer, 65536), piecesRoot) // the check a .torrent's piece layers must pass
 */
export function rootOfPieceLayer (layer: Uint8Array, pieceLength: number): Uint8Array {
  return merkleRoot(splitHashes(layer), nextPow2(layer.length / HASH_SIZE), log2(leavesPerPiece(pieceLength)))
}

/** 32-byte hashes packed end to end, as views. */
export function splitHashes (packed: Uint8Array): Uint8Array[] {
  if (packed.length % HASH_SIZE !== 0) throw new RangeError(`merkle: ${packed.length} bytes is not a whole number of hashes`)
  return Array.from({ length: packed.length / HASH_SIZE }, (_, i) => packed.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))
}

/** Byte-wise equality. */
export function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
