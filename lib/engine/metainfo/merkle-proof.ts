/**
 * Ranges of a file's merkle tree and their proofs (BEP 52 hash requests).
 * Layers are counted from the leaves (0) up to the root (the tree's height);
 * the piece layer is log2(piece length / 16 KiB). A range is `length` nodes
 * of one layer from `index`; its proof is the uncle hashes that lead from the
 * top of the range's subtree to a node already trusted (the file's root, or a
 * piece hash), so nodes from an untrusted peer are checked before use.
 *
 * Pure and synchronous over byte arrays.
 *
 * @module
 */
import { HASH_SIZE, LEAF_SIZE, hashPair, log2, merkleRoot, nextPow2, padHash, sameBytes, splitHashes } from './merkle.ts'

/** Most nodes one request may name (a 128 MiB piece's leaves, as libtorrent allows). */
export const MAX_HASH_RANGE = 8192

/**
 * One range of a file's merkle tree.
 *
 * @example
 * const r: HashRequest = { root, base: 2, index: 0, length: 512, proofLayers: 11 }
 */
export interface HashRequest {
  /** The file's 32-byte `pieces root`. */
  readonly root: Uint8Array
  /** Layer of the requested nodes (0: leaves). */
  readonly base: number
  /** First requested node of that layer. */
  readonly index: number
  /** Number of requested nodes. */
  readonly length: number
  /** Ancestor layers the answer proves (see {@link uncleCount}). */
  readonly proofLayers: number
}

/**
 * Uncle hashes an answer to a request of `length` nodes proving `proofLayers`
 * layers carries: the layers up to the top of the requested subtree follow
 * from the nodes themselves (as libtorrent counts them).
 *
 * @example
 * uncleCount(512, 11) // 3: the subtree of 512 reaches layer 9, layers 9, 10 and 11 need an uncle each
 */
export function uncleCount (length: number, proofLayers: number): number {
  return Math.max(0, proofLayers - Math.ceil(Math.log2(Math.max(1, length))) + 1)
}

/** Most piece hashes one of our piece-layer requests names (as libtorrent asks). */
export const LAYER_CHUNK = 512

/**
 * Layers above the leaves of a file's tree (0 for a file of one leaf).
 *
 * @example
 * treeHeight(5 * 16384) // 3: eight leaves
 */
export function treeHeight (fileLength: number): number {
  return log2(nextPow2(Math.max(1, Math.ceil(fileLength / LEAF_SIZE))))
}

/**
 * The layer of piece hashes for a piece length.
 *
 * @example
 * pieceLayerIndex(65536) // 2
 */
export function pieceLayerIndex (pieceLength: number): number {
  return log2(pieceLength / LEAF_SIZE)
}

/**
 * Null when `r` names a range that exists in the tree of a file of
 * `fileLength` bytes and proves at most up to the layer below its root, else
 * what is wrong (the range rules libtorrent applies, plus BEP 52's: a power
 * of two nodes, starting at a multiple of that count).
 *
 * @example
 * rangeProblem({ root, base: 9, index: 0, length: 2, proofLayers: 0 }, 1 << 20) // 'base layer 9 is at or above the root ...'
 */
export function rangeProblem (r: HashRequest, fileLength: number): string | null {
  const height = treeHeight(fileLength)
  if (r.base >= height) return `base layer ${r.base} is at or above the root of the file's tree (${height} layers)`
  if (r.length < 1 || r.length > MAX_HASH_RANGE || (r.length & (r.length - 1)) !== 0) return `${r.length} nodes is not a power of two from 1 to ${MAX_HASH_RANGE}`
  if (r.index % r.length !== 0) return `index ${r.index} is not a multiple of the length ${r.length}`
  const width = 2 ** (height - r.base)
  if (r.index + r.length > width) return `nodes ${r.index} to ${r.index + r.length - 1} are past the ${width} of layer ${r.base}`
  if (r.proofLayers >= height - r.base) return `${r.proofLayers} proof layers reach the root or above (the tree has ${height - r.base} above layer ${r.base})`
  return null
}

/**
 * The tree of one file from its piece layer up, to answer hash requests.
 *
 * @example
 * const tree = new LayerTree(layer, 65536, file.length)
 * const answer = tree.answer(request) // nodes then uncles, or null: not a range we hold
 */
export class LayerTree {
  /** layers[k] is tree layer pieceLayer + k, padded to its full width; the last holds the root. */
  private readonly layers: Uint8Array[][]
  private readonly pieceLayer: number

  constructor (layer: Uint8Array, pieceLength: number, private readonly fileLength: number) {
    this.pieceLayer = pieceLayerIndex(pieceLength)
    const height = treeHeight(fileLength)
    const width = 2 ** Math.max(0, height - this.pieceLayer)
    const first = splitHashes(layer)
    if (first.length > width) throw new RangeError(`merkle: ${first.length} piece hashes for a file of ${fileLength} bytes`)
    const pad = padHash(this.pieceLayer)
    const bottom = Array.from({ length: width }, (_, i) => first[i] ?? pad)
    this.layers = [bottom]
    for (let w = width; w > 1; w /= 2) {
      const below = this.layers[this.layers.length - 1] as Uint8Array[]
      this.layers.push(Array.from({ length: w / 2 }, (_, i) => hashPair(below[2 * i] as Uint8Array, below[2 * i + 1] as Uint8Array)))
    }
  }

  /** The root this tree hashes to. */
  get root (): Uint8Array {
    return (this.layers[this.layers.length - 1] as Uint8Array[])[0] as Uint8Array
  }

  /** Node `index` of tree layer `layer` (at or above the piece layer), or null outside the tree. */
  node (layer: number, index: number): Uint8Array | null {
    return this.layers[layer - this.pieceLayer]?.[index] ?? null
  }

  /** The nodes and uncle hashes that answer `r`, or null when the range is not in the tree or below the piece layer (we hold no leaves). */
  answer (r: HashRequest): Uint8Array[] | null {
    if (rangeProblem(r, this.fileLength) !== null || r.base < this.pieceLayer) return null
    const at = r.base - this.pieceLayer
    const nodes = (this.layers[at] as Uint8Array[]).slice(r.index, r.index + r.length)
    const span = log2(r.length)
    const out = [...nodes]
    for (let j = 0; j < uncleCount(r.length, r.proofLayers); j++) {
      const layer = this.layers[at + span + j]
      const sibling = layer?.[(r.index >> (span + j)) ^ 1]
      if (sibling === undefined) return null
      out.push(sibling)
    }
    return out
  }
}

/**
 * The piece (of the file, from 0) a request below the piece layer falls in,
 * or null when the range is not in the tree or spans more than one piece
 * (an answer is made from one piece's leaves).
 *
 * @example
 * pieceOfRange({ root, base: 0, index: 8, length: 4, proofLayers: 1 }, file.length, 65536) // 2
 */
export function pieceOfRange (r: HashRequest, fileLength: number, pieceLength: number): number | null {
  const top = Math.min(treeHeight(fileLength), pieceLayerIndex(pieceLength))
  if (rangeProblem(r, fileLength) !== null || r.base >= top) return null
  const span = 2 ** (top - r.base)
  return r.length > span ? null : Math.floor(r.index / span)
}

/**
 * The answer to a request below the piece layer, made from the leaf hashes
 * of the one piece it falls in ({@link pieceOfRange}); uncles at or above the
 * piece layer come from `above` (the file's {@link LayerTree}; null for a file
 * of one piece). Null when the range is not answerable so.
 *
 * @example
 * const answer = answerFromLeaves(r, leafHashes(pieceBytes), file.length, 65536, tree)
 */
export function answerFromLeaves (r: HashRequest, leaves: readonly Uint8Array[], fileLength: number, pieceLength: number, above: LayerTree | null): Uint8Array[] | null {
  const piece = pieceOfRange(r, fileLength, pieceLength)
  if (piece === null) return null
  const top = Math.min(treeHeight(fileLength), pieceLayerIndex(pieceLength))
  const layers: Uint8Array[][] = [Array.from({ length: 2 ** top }, (_, i) => leaves[i] ?? padHash(0))]
  for (let w = 2 ** top; w > 1; w /= 2) {
    const below = layers[layers.length - 1] as Uint8Array[]
    layers.push(Array.from({ length: w / 2 }, (_, i) => hashPair(below[2 * i] as Uint8Array, below[2 * i + 1] as Uint8Array)))
  }
  const at = (layer: number, index: number): Uint8Array | null =>
    layer < top ? layers[layer]?.[index - piece * 2 ** (top - layer)] ?? null : above?.node(layer, index) ?? null
  const out: Uint8Array[] = []
  for (let i = 0; i < r.length; i++) {
    const n = at(r.base, r.index + i)
    if (n === null) return null
    out.push(n)
  }
  const span = log2(r.length)
  for (let j = 0; j < uncleCount(r.length, r.proofLayers); j++) {
    const layer = r.base + span + j
    const sibling = at(layer, (r.index >> (span + j)) ^ 1)
    if (sibling === null) return null
    out.push(sibling)
  }
  return out
}

/**
 * Null when `nodes` (the range `r` names) with `uncles` hash up to a node
 * `trusted` knows, else why not. `trusted(layer, index)` gives the nodes we
 * already believe (the file's root at the top layer, piece hashes at the
 * piece layer); null where we know none.
 *
 * @example
 * const bad = proofProblem(r, nodes, uncles, file.length, (layer, i) => layer === treeHeight(file.length) ? file.root : null)
 * if (bad !== null) peer.close(`hashes that do not verify: ${bad}`)
 */
export function proofProblem (
  r: HashRequest, nodes: readonly Uint8Array[], uncles: readonly Uint8Array[], fileLength: number,
  trusted: (layer: number, index: number) => Uint8Array | null
): string | null {
  const range = rangeProblem(r, fileLength)
  if (range !== null) return range
  if (nodes.length !== r.length) return `${nodes.length} nodes for a range of ${r.length}`
  if (uncles.length !== uncleCount(r.length, r.proofLayers)) return `${uncles.length} uncle hashes for ${r.proofLayers} proof layers`
  let node = merkleRoot(nodes, r.length)
  let layer = r.base + log2(r.length)
  let position = r.index / r.length
  for (const uncle of uncles) {
    node = position % 2 === 0 ? hashPair(node, uncle) : hashPair(uncle, node)
    position = Math.floor(position / 2)
    layer++
  }
  const expected = trusted(layer, position)
  if (expected === null) return `the proof ends at layer ${layer}, where no node is known`
  return sameBytes(node, expected) ? null : 'the nodes and their proof do not hash to the known node'
}

/**
 * The requests that fetch a file's whole piece layer, each proved up to the
 * file's root: ranges of at most {@link LAYER_CHUNK} piece hashes (fewer at
 * the end: the next power of two of what is left).
 *
 * @example
 * for (const r of pieceLayerRequests(file.root, file.length, 65536)) exchange.request(r)
 */
export function pieceLayerRequests (root: Uint8Array, fileLength: number, pieceLength: number): HashRequest[] {
  const base = pieceLayerIndex(pieceLength)
  const height = treeHeight(fileLength)
  const pieces = Math.ceil(fileLength / pieceLength)
  const out: HashRequest[] = []
  for (let index = 0; index < pieces; index += LAYER_CHUNK) {
    const length = Math.min(LAYER_CHUNK, nextPow2(pieces - index))
    out.push({ root, base, index, length, proofLayers: height - base - 1 })
  }
  return out
}

/**
 * The piece layer (packed piece hashes, BEP 52's `piece layers` value) from
 * the verified answers to {@link pieceLayerRequests}, in request order.
 *
 * @example
 * const layer = joinPieceLayer(answers, file.length, 65536)
 */
export function joinPieceLayer (answers: ReadonlyArray<{ readonly request: HashRequest, readonly nodes: readonly Uint8Array[] }>, fileLength: number, pieceLength: number): Uint8Array {
  const pieces = Math.ceil(fileLength / pieceLength)
  const out = new Uint8Array(pieces * HASH_SIZE)
  for (const { request, nodes } of answers) {
    for (let i = 0; i < nodes.length && request.index + i < pieces; i++) out.set(nodes[i] as Uint8Array, (request.index + i) * HASH_SIZE)
  }
  return out
}
