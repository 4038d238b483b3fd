/**
 * Consistency of hybrid (v1 + v2, BEP 52) torrents. We download hybrids with
 * their v1 data only, but a hybrid whose v2 half disagrees with its v1 half is
 * a different torrent to every v2 peer: refuse it, as libtorrent does, instead
 * of joining a swarm that can never agree on the data.
 *
 * Checked: the `file tree` is well formed; it names the same files, in the same
 * order and with the same sizes, as the v1 file list (pad files aside); every
 * non-empty file starts on a piece boundary; `piece layers`, when present, only
 * holds layers of the expected size for files of the tree. Merkle roots are not
 * recomputed (that is v2 verification, which we do not do yet).
 *
 * @module
 */
import { isBytes, isDict, isInt, keyBytes, latin1, type BDict, type BValue } from './bdecode-guard.ts'
import type { RawEntry } from './parse.ts'

const text = new TextDecoder('utf-8')

interface Leaf { readonly path: string[]; readonly length: number; readonly root: string | null }

/**
 * Null when the hybrid's v2 half agrees with its v1 half, else a reason.
 *
 * @example
 * const problem = checkHybrid(info, rawEntries, 65536, root.get('piece layers'))
 */
export function checkHybrid (info: BDict, v1: readonly RawEntry[], pieceLength: number, pieceLayers: BValue | undefined): string | null {
  const tree = info.get('file tree')
  if (!isDict(tree)) return 'hybrid torrent (meta version 2) has no valid "file tree"'
  const leaves: Leaf[] = []
  const walked = walk(tree, [], leaves)
  if (walked !== null) return walked

  const real = v1.filter(f => !f.pad)
  if (real.length !== leaves.length) return `v1 and v2 file lists differ (${real.length} files in v1, ${leaves.length} in v2)`
  for (let i = 0; i < real.length; i++) {
    const a = real[i] as RawEntry
    const b = leaves[i] as Leaf
    if (a.path.join('/') !== b.path.join('/') || a.length !== b.length) {
      return `v1 and v2 file lists differ at "${b.path.join('/')}"`
    }
    if (a.length > 0 && a.offset % pieceLength !== 0) return `hybrid file "${b.path.join('/')}" does not start on a piece boundary`
  }

  if (pieceLayers !== undefined) {
    if (!isDict(pieceLayers)) return '"piece layers" is not a dictionary'
    const expected = new Map<string, number>()
    for (const leaf of leaves) {
      if (leaf.root !== null && leaf.length > pieceLength) expected.set(leaf.root, Math.ceil(leaf.length / pieceLength) * 32)
    }
    for (const [key, layer] of pieceLayers) {
      const size = expected.get(key)
      if (size === undefined) return '"piece layers" has an entry for no file of the torrent'
      if (!isBytes(layer) || layer.length !== size) return `a piece layer has the wrong size (${isBytes(layer) ? layer.length : 'not a string'}, expected ${size})`
    }
  }
  return null
}

/** Depth-first in key order (bencode order), as BEP 52 lays files out. Depth is bounded by the decoder. */
function walk (node: BDict, path: string[], out: Leaf[]): string | null {
  for (const [key, child] of node) {
    if (key === '') {
      if (path.length === 0) return '"file tree" has a file with an empty name'
      if (node.size !== 1) return `"file tree" entry "${path.join('/')}" is both a file and a directory`
      if (!isDict(child)) return `"file tree" entry "${path.join('/')}" is not a dictionary`
      const length = child.get('length')
      if (!isInt(length) || typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) return `"file tree" entry "${path.join('/')}" has an invalid length`
      const attr = child.get('attr')
      if (isBytes(attr) && text.decode(attr).includes('p')) return `"file tree" entry "${path.join('/')}" is marked as a pad file`
      const root = child.get('pieces root')
      let rootKey: string | null = null
      if (length > 0) {
        if (!isBytes(root) || root.length !== 32 || root.every(b => b === 0)) return `"file tree" entry "${path.join('/')}" has no valid pieces root`
        rootKey = latin1(root)
      }
      out.push({ path, length, root: rootKey })
      continue
    }
    if (!isDict(child)) return `"file tree" entry "${[...path, printable(key)].join('/')}" is not a dictionary`
    const problem = walk(child, [...path, text.decode(keyBytes(key))], out)
    if (problem !== null) return problem
  }
  return null
}

function printable (key: string): string {
  return text.decode(keyBytes(key))
}
