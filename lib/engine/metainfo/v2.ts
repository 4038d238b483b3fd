/**
 * The v2 half of a torrent (BEP 52): the `file tree`, the piece-aligned layout
 * of its files and the `piece layers`, each checked before anything relies on it.
 *
 * Layout: every file starts on a piece boundary. To keep one byte space for
 * storage, picking and the wire, each file whose size is not a whole number of
 * pieces is followed by a pad entry up to the next boundary, the last file
 * included, as libtorrent lays v2 torrents out: a v2-only torrent and its hybrid
 * twin have the same pieces at the same offsets. Pad entries are never written.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import type { FileEntry, V2File } from '../contracts.ts'
import { isBytes, isDict, isInt, isList, keyBytes, type BDict, type BValue } from './bdecode-guard.ts'
import { MAX_FILES, MAX_PIECES } from './limits.ts'
import { HASH_SIZE, rootOfPieceLayer, sameBytes } from './merkle.ts'
import { pathProblem } from './safe-path.ts'

const text = new TextDecoder('utf-8')

/** One entry of a file tree, in tree order, path relative to the torrent's folder. */
export interface TreeEntry {
  readonly path: readonly string[]
  readonly length: number
  /** 32-byte pieces root; null for empty files and symlinks. */
  readonly root: Uint8Array | null
  readonly symlink: boolean
}

type Result<T> = { ok: true; value: T } | { ok: false; reason: string }
const no = (reason: string): { ok: false; reason: string } => ({ ok: false, reason })

/**
 * The entries of `info["file tree"]`, depth first in key order (bencode order),
 * which is the order of the files in the torrent. Depth is bounded by the
 * decoder's nesting limit, so the walk cannot run away.
 *
 * @example
 * const r = readFileTree(info)
 * if (r.ok) console.log(r.value.map(e => e.path.join('/')))
 */
export function readFileTree (info: BDict): Result<TreeEntry[]> {
  const tree = info.get('file tree')
  if (!isDict(tree)) return no('missing or invalid "file tree" (info["file tree"])')
  if (tree.size === 0) return no('"file tree" is empty')
  const out: TreeEntry[] = []
  const problem = walk(tree, [], out)
  if (problem !== null) return no(problem)
  return { ok: true, value: out }
}

function walk (node: BDict, path: string[], out: TreeEntry[]): string | null {
  let previous: string | null = null
  for (const [key, child] of node) {
    // The tree's key order is the torrent's file order: it must be bencode's (sorted raw bytes).
    if (previous !== null && key <= previous) return `"file tree" keys are not sorted (at "${clip([...path, text.decode(keyBytes(key))].join('/'))}")`
    previous = key
    if (key === '') {
      if (path.length === 0) return '"file tree" has a file with an empty name'
      if (node.size !== 1) return `"file tree" entry "${clip(path.join('/'))}" is both a file and a directory`
      if (!isDict(child)) return `"file tree" entry "${clip(path.join('/'))}" is not a dictionary`
      const entry = readLeaf(child, path)
      if (typeof entry === 'string') return entry
      if (out.length >= MAX_FILES) return `too many files in "file tree" (limit ${MAX_FILES})`
      out.push(entry)
      continue
    }
    const name = text.decode(keyBytes(key))
    if (!isDict(child)) return `"file tree" entry "${clip([...path, name].join('/'))}" is not a dictionary`
    if (child.size === 0) return `"file tree" entry "${clip([...path, name].join('/'))}" is an empty directory`
    const problem = walk(child, [...path, name], out)
    if (problem !== null) return problem
  }
  return null
}

function readLeaf (leaf: BDict, path: string[]): TreeEntry | string {
  const where = `"file tree" entry "${clip(path.join('/'))}"`
  const attrValue = leaf.get('attr')
  const attr = isBytes(attrValue) ? text.decode(attrValue) : ''
  if (attr.includes('p')) return `${where} is marked as a pad file (v2 has no pad files)`
  const length = leaf.get('length')
  if (!isInt(length)) return `${where} has no valid length`
  if (typeof length === 'bigint' || !Number.isSafeInteger(length)) return `${where} has a length too large (${String(length)})`
  if (length < 0) return `${where} has a negative length`
  const symlink = attr.includes('l')
  if (symlink) {
    const target = leaf.get('symlink path')
    if (!isList(target) || !target.every(isBytes)) return `${where} is a symlink without a valid "symlink path"`
    // A link has no data of its own, whatever length it claims (BEP 47).
    return { path, length: 0, root: null, symlink }
  }
  const root = leaf.get('pieces root')
  if (length === 0) return { path, length: 0, root: null, symlink }
  if (!isBytes(root) || root.length !== HASH_SIZE || root.every(b => b === 0)) return `${where} has no valid pieces root`
  return { path, length, root: root.slice(), symlink }
}

/** A v2 torrent's files placed in its byte space. */
export interface V2Layout {
  /** Every file in torrent order with the pad entries that align the next one (full paths, name first). */
  readonly entries: FileEntry[]
  /** The real files (empty ones and symlinks included), with their pieces. */
  readonly files: V2File[]
  /** Bytes in the byte space, pads included: a whole number of pieces. */
  readonly length: number
}

/**
 * Lay the tree out: a single file named like the torrent is the torrent itself,
 * otherwise files sit in a folder of the torrent's name. Paths are checked here.
 *
 * @example
 * const layout = layoutV2(tree, 'album', 262144)
 * if (layout.ok) console.log(layout.value.length % 262144) // 0
 */
export function layoutV2 (tree: readonly TreeEntry[], name: string, pieceLength: number): Result<V2Layout> {
  const single = tree.length === 1 && tree[0]?.path.length === 1 && tree[0]?.path[0] === name
  const entries: FileEntry[] = []
  const files: V2File[] = []
  let offset = 0
  for (const e of tree) {
    const path = single ? [name] : [name, ...e.path]
    const problem = pathProblem(path)
    if (problem !== null) return no(`file path ${problem} ("file tree" entry "${clip(e.path.join('/'))}")`)
    const firstPiece = offset / pieceLength
    const pieceCount = Math.ceil(e.length / pieceLength)
    if (firstPiece + pieceCount > MAX_PIECES) return no(`too many pieces: more than ${MAX_PIECES}`)
    entries.push({ path, length: e.length, offset, pad: e.symlink })
    files.push({ path, length: e.length, offset, root: e.root, firstPiece, pieceCount })
    offset += e.length
    const tail = e.length % pieceLength
    if (tail !== 0) {
      const pad = pieceLength - tail
      entries.push({ path: [name, '.pad', String(pad)], length: pad, offset, pad: true })
      offset += pad
    }
    if (entries.length > MAX_FILES) return no(`too many files: over ${MAX_FILES} with the pad entries that align them`)
  }
  return { ok: true, value: { entries, files, length: offset } }
}

/**
 * The `piece layers` of a .torrent, keyed by hex pieces root. Each entry must
 * belong to a file longer than one piece, hold one hash per piece of it, and
 * hash up to that file's root; a missing layer is allowed (it comes from peers).
 *
 * @example
 * const layers = readPieceLayers(root.get('piece layers'), layout.files, pieceLength)
 */
export function readPieceLayers (raw: BValue | undefined, files: readonly V2File[], pieceLength: number): Result<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>()
  if (raw === undefined) return { ok: true, value: out }
  if (!isDict(raw)) return no('"piece layers" is not a dictionary')
  const needing = new Map<string, V2File>()
  for (const f of files) if (f.root !== null && f.length > pieceLength) needing.set(Buffer.from(f.root).toString('hex'), f)
  for (const [key, layer] of raw) {
    const rootHex = Buffer.from(keyBytes(key)).toString('hex')
    const file = needing.get(rootHex)
    if (file === undefined) return no(`"piece layers" has an entry (${rootHex.slice(0, 16)}...) for no file longer than a piece`)
    const where = `the piece layer of "${clip(file.path.join('/'))}"`
    if (!isBytes(layer)) return no(`${where} is not a string`)
    if (layer.length !== file.pieceCount * HASH_SIZE) return no(`${where} is ${layer.length} bytes, expected ${file.pieceCount * HASH_SIZE}`)
    if (!sameBytes(rootOfPieceLayer(layer, pieceLength), file.root as Uint8Array)) return no(`${where} does not hash to the file's pieces root`)
    out.set(rootHex, layer.slice())
  }
  return { ok: true, value: out }
}

function clip (s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s
}
