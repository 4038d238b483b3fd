/**
 * Answers BEP 52 hash requests for a torrent whose piece layers we hold:
 * any range of a file's tree from its piece layer up, with the uncle hashes
 * asked for, and ranges below it (leaves) within one piece we have, hashed
 * from the piece's bytes as read back from storage. A range outside the tree,
 * across pieces, of a piece we lack or of an unknown root is answered with a
 * hash reject.
 *
 * @internal
 * @module
 */
import { Buffer } from 'node:buffer'
import type { Metainfo, V2File } from '../contracts.ts'
import { answerFromLeaves, LayerTree, pieceLayerIndex, pieceOfRange, type HashRequest } from '../metainfo/merkle-proof.ts'
import { leafHashes } from '../metainfo/merkle.ts'

/** What a hash server answers with: the nodes then the uncles, null to reject; a promise when the answer needs a disk read. */
export type HashAnswerFn = (r: HashRequest) => Uint8Array[] | null | Promise<Uint8Array[] | null>

/**
 * The answer function of a torrent's hash exchanges, or null for a torrent
 * without a v2 half. `readPiece` reads a piece we have (null: we do not).
 *
 * @example
 * const serve = hashServer(meta, (p) => picker.have(p) ? storage.read(p * meta.pieceLength, meta.pieceLength) : null)
 * if (serve !== null) new HashExchange(wire, { serve })
 */
export function hashServer (meta: Pick<Metainfo, 'pieceLength' | 'v2'>, readPiece?: (piece: number) => Promise<Uint8Array> | null): HashAnswerFn | null {
  const v2 = meta.v2
  if (v2 === undefined) return null
  const files = new Map<string, V2File>()
  for (const f of v2.files) if (f.root !== null) files.set(Buffer.from(f.root).toString('hex'), f)
  // Built on the first request for a file: most torrents are never asked.
  const trees = new Map<string, LayerTree | null>()
  const treeOf = (key: string, file: V2File): LayerTree | null => {
    if (!trees.has(key)) {
      const layer = v2.pieceLayers.get(key)
      trees.set(key, layer === undefined || file.length <= meta.pieceLength ? null : new LayerTree(layer, meta.pieceLength, file.length))
    }
    return trees.get(key) ?? null
  }
  return (r) => {
    const key = Buffer.from(r.root).toString('hex')
    const file = files.get(key)
    if (file === undefined) return null
    const tree = treeOf(key, file)
    if (r.base >= pieceLayerIndex(meta.pieceLength)) return tree?.answer(r) ?? null
    const inFile = pieceOfRange(r, file.length, meta.pieceLength)
    // Leaves above a missing piece layer could not be proved: only with the layer, or for a file of one piece.
    if (inFile === null || readPiece === undefined || (tree === null && file.length > meta.pieceLength)) return null
    const read = readPiece(file.firstPiece + inFile)
    if (read === null) return null
    const bytes = Math.min(meta.pieceLength, file.length - inFile * meta.pieceLength)
    return read.then(
      (data) => answerFromLeaves(r, leafHashes(data.subarray(0, bytes)), file.length, meta.pieceLength, tree),
      () => null
    )
  }
}
