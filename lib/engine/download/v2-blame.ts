/**
 * Block-level blame for v2 pieces (BEP 52). A v2 piece hash is the root of
 * its 16 KiB leaves, so the true leaf hashes of a failed piece (from a peer,
 * proved up to the piece hash we trust) name the bad blocks at once: the
 * sender of each block whose hash differs lied, and no re-download is needed
 * to find out (v1's smart ban waits for the piece to pass).
 *
 * Pure: the request to send, the check of its answer, the comparison.
 *
 * @module
 */
import type { V2File } from '../contracts.ts'
import { leafHashes, log2, sameBytes } from '../metainfo/merkle.ts'
import { pieceLayerIndex, proofProblem, treeHeight, type HashRequest } from '../metainfo/merkle-proof.ts'

/**
 * The hash request for the leaves of `piece` (in `file`), proved up to its
 * piece hash (for a file of one piece or less: up to the file's root). Null
 * when the piece is one leaf: its sender is known without leaves.
 *
 * @example
 * const r = leafRequest(file, 17, 262144) // base 0, 16 leaves from (17 - file.firstPiece) * 16
 */
export function leafRequest (file: V2File, piece: number, pieceLength: number): HashRequest | null {
  if (file.root === null) return null
  const height = treeHeight(file.length)
  if (file.length <= pieceLength) {
    return height === 0 ? null : { root: file.root, base: 0, index: 0, length: 2 ** height, proofLayers: height - 1 }
  }
  const layer = pieceLayerIndex(pieceLength)
  if (layer === 0) return null
  const per = 2 ** layer
  return { root: file.root, base: 0, index: (piece - file.firstPiece) * per, length: per, proofLayers: layer - 1 }
}

/**
 * Null when `nodes` (the answer to {@link leafRequest}) with `uncles` hash up
 * to `pieceHash`, the hash the piece is verified against; else why not.
 *
 * @example
 * const bad = leavesProblem(r, a.nodes, a.uncles, file, target.expected)
 */
export function leavesProblem (r: HashRequest, nodes: readonly Uint8Array[], uncles: readonly Uint8Array[], file: V2File, pieceHash: Uint8Array): string | null {
  const top = r.base + log2(r.length) + uncles.length
  const at = r.index / r.length
  return proofProblem(r, nodes, uncles, file.length, (layer, index) => layer === top && index === Math.floor(at / 2 ** uncles.length) ? pieceHash : null)
}

/**
 * Leaf hashes of the first `bytes` of a piece (the rest is pad, never hashed).
 *
 * @example
 * const failed = pieceLeaves(data, target.bytes)
 */
export function pieceLeaves (data: Uint8Array, bytes: number): Uint8Array[] {
  return leafHashes(data.subarray(0, bytes))
}

/**
 * Blocks (indexes within the piece) whose leaf hash differs from the true one.
 *
 * @example
 * for (const block of lyingBlocks(failed, trueLeaves)) strike(attempt.from[block])
 */
export function lyingBlocks (failed: readonly Uint8Array[], trueLeaves: readonly Uint8Array[]): number[] {
  const out: number[] = []
  failed.forEach((h, block) => {
    const truth = trueLeaves[block]
    if (truth === undefined || !sameBytes(h, truth)) out.push(block)
  })
  return out
}
