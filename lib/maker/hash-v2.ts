/**
 * The v2 (BEP 52) half of a torrent being made: each file hashed alone into
 * its merkle root and piece layer, and for hybrids its SHA-1 pieces too, the
 * file's last piece filled with zeros as its BEP 47 pad file reads. One
 * streamed pass per file, so memory is one piece plus the file's leaf hashes.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import type { Encodable } from '../engine/metainfo/bencode-encode.ts'
import { fileRoot, leafHash, LEAF_SIZE, pieceLayer } from '../engine/metainfo/merkle.ts'
import { PieceHasher, fileChunks } from './piece-hasher.ts'

/** One file to hash: where it is and its path in the torrent (without the torrent's name). */
export interface V2Source { readonly abs: string; readonly rel: readonly string[]; readonly length: number }

/** The hashes of one file. */
export interface V2FileHashes {
  /** Pieces root; null for an empty file. */
  readonly root: Uint8Array | null
  /** Piece layer, for a file longer than one piece. */
  readonly layer: Uint8Array | null
  /** SHA-1 of each v1 piece of the file, the last one zero-filled unless told not to (hybrids only). */
  readonly v1Pieces: Buffer[]
}

/**
 * Hash one file: leaves of 16 KiB, and SHA-1 pieces when `v1` is set (the
 * last one zero-filled as its pad file reads, unless `zeroFill` is false: a
 * single-file torrent has no pad file).
 *
 * @example
 * const h = await hashFileV2({ abs: '/srv/a.bin', rel: ['a.bin'], length: 70_000 }, 65536, true)
 */
export async function hashFileV2 (f: V2Source, pieceLength: number, v1: boolean, zeroFill = true): Promise<V2FileHashes> {
  const leaves: Uint8Array[] = []
  const pieces = v1 ? new PieceHasher(pieceLength) : null
  const leaf = Buffer.alloc(LEAF_SIZE)
  let inLeaf = 0
  for await (const chunk of fileChunks(f)) {
    pieces?.update(chunk)
    let at = 0
    if (inLeaf > 0) {
      const take = Math.min(LEAF_SIZE - inLeaf, chunk.length)
      chunk.copy(leaf, inLeaf, 0, take)
      inLeaf += take
      at = take
      if (inLeaf === LEAF_SIZE) { leaves.push(leafHash(leaf)); inLeaf = 0 }
    }
    for (; at + LEAF_SIZE <= chunk.length; at += LEAF_SIZE) leaves.push(leafHash(chunk.subarray(at, at + LEAF_SIZE)))
    if (at < chunk.length) { chunk.copy(leaf, 0, at); inLeaf = chunk.length - at }
  }
  if (inLeaf > 0) leaves.push(leafHash(leaf.subarray(0, inLeaf)))
  const v1Pieces = pieces?.finish(zeroFill) ?? []
  if (f.length === 0) return { root: null, layer: null, v1Pieces }
  return { root: fileRoot(leaves), layer: f.length > pieceLength ? pieceLayer(leaves, pieceLength) : null, v1Pieces }
}

/** A file tree node: directories map names to nodes, a file maps '' to its entry. */
type Tree = { [name: string]: Tree | { [key: string]: Encodable } }

/**
 * The `file tree`, `piece layers` and (for hybrids) v1 `files` and `pieces` of
 * `files`. A `single` file torrent's v1 half is the single-file form, without a pad.
 *
 * @example
 * const v2 = await hashV2(files, 65536, true, false)
 * info['file tree'] = v2.fileTree
 */
export async function hashV2 (files: readonly V2Source[], pieceLength: number, hybrid: boolean, single: boolean): Promise<{
  fileTree: Encodable
  pieceLayers: Map<Uint8Array, Uint8Array>
  v1Files: Encodable[]
  v1Pieces: Uint8Array
}> {
  const tree: Tree = {}
  const layers = new Map<Uint8Array, Uint8Array>()
  const v1Files: Encodable[] = []
  const v1Pieces: Buffer[] = []
  for (const f of files) {
    const h = await hashFileV2(f, pieceLength, hybrid, !single)
    let node: Tree = tree
    for (const c of f.rel.slice(0, -1)) node = (node[c] ??= {}) as Tree
    node[f.rel[f.rel.length - 1] as string] = { '': h.root === null ? { length: f.length } : { length: f.length, 'pieces root': h.root } }
    if (h.layer !== null && h.root !== null) layers.set(h.root, h.layer)
    if (hybrid) {
      v1Files.push({ length: f.length, path: [...f.rel] })
      const tail = f.length % pieceLength
      if (tail !== 0) v1Files.push({ attr: 'p', length: pieceLength - tail, path: ['.pad', String(pieceLength - tail)] })
      v1Pieces.push(...h.v1Pieces)
    }
  }
  return { fileTree: tree, pieceLayers: layers, v1Files, v1Pieces: new Uint8Array(Buffer.concat(v1Pieces)) }
}
