/**
 * The v2 half of a torrent built from file bytes in memory (the fields the
 * hash messages and piece checks use), with a reader of its pieces.
 */
import { Buffer } from 'node:buffer'
import type { Metainfo, V2File } from '../../lib/engine/contracts.ts'
import { fileRoot, leafHashes, pieceLayer } from '../../lib/engine/metainfo/merkle.ts'

export interface V2Torrent {
  readonly meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'version' | 'v2'>
  /** Leaf hashes of each file. */
  readonly leaves: Uint8Array[][]
  /** The bytes of a piece (pad after a file's end as zeros). */
  piece(piece: number): Uint8Array
}

export function v2TorrentOf (files: readonly Uint8Array[], pieceLength: number): V2Torrent {
  const v2Files: V2File[] = []
  const layers = new Map<string, Uint8Array>()
  const leaves: Uint8Array[][] = []
  const owner: Array<{ data: Uint8Array, first: number }> = []
  let piece = 0
  files.forEach((data, i) => {
    const l = leafHashes(data)
    leaves.push(l)
    const root = fileRoot(l)
    const pieceCount = Math.ceil(data.length / pieceLength)
    v2Files.push({ path: ['t', `f${i}`], length: data.length, offset: piece * pieceLength, root, firstPiece: piece, pieceCount })
    if (data.length > pieceLength) layers.set(Buffer.from(root).toString('hex'), pieceLayer(l, pieceLength))
    for (let p = 0; p < pieceCount; p++) owner.push({ data, first: piece })
    piece += pieceCount
  })
  const v2 = { infoHash: '00'.repeat(32), infoHashBytes: new Uint8Array(32), files: v2Files, pieceLayers: layers }
  return {
    meta: { pieceLength, pieceCount: piece, version: 'v2', v2 },
    leaves,
    piece: (p) => {
      const o = owner[p]
      if (o === undefined) throw new RangeError(`no piece ${p}`)
      const out = new Uint8Array(pieceLength)
      out.set(o.data.subarray((p - o.first) * pieceLength, (p - o.first + 1) * pieceLength))
      return out
    }
  }
}
