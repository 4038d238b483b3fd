/**
 * The BEP 52 hash messages: hash request (id 21), hashes (22) and hash
 * reject (23). Each names a range of one file's merkle tree: the file's
 * `pieces root`, the layer (`base`, 0 = the 16 KiB leaves), the first node
 * (`index`), how many nodes (`length`) and how many ancestor layers the
 * answer proves (`proofLayers`). A hashes message carries the `length` nodes
 * followed by the uncle hashes (one per layer from the top of the requested
 * subtree up to `proofLayers`), lowest first.
 *
 * Pure encode and decode. Decoding checks only what the bytes say (sizes, the
 * hash count a hashes message must carry); whether a range exists in a file's
 * tree is judged by metainfo/merkle-proof.ts.
 *
 * @module
 */
import { HASH_SIZE } from '../metainfo/merkle.ts'
import { MAX_HASH_RANGE, uncleCount, type HashRequest } from '../metainfo/merkle-proof.ts'

export type { HashRequest } from '../metainfo/merkle-proof.ts'

/** Message id of a hash request. */
export const HASH_REQUEST = 21
/** Message id of a hashes message (the answer). */
export const HASHES = 22
/** Message id of a hash reject. */
export const HASH_REJECT = 23

/** Body bytes of a hash request or reject: id, root and four 32-bit numbers. */
export const HASH_REQUEST_BODY = 1 + HASH_SIZE + 16

/** Most uncle hashes an answer may carry (a tree of 2^62 leaves has fewer layers). */
const MAX_UNCLES = 64

/** A decoded hash message. */
export type HashMessage =
  | { readonly kind: 'request', readonly request: HashRequest }
  | { readonly kind: 'hashes', readonly request: HashRequest, readonly hashes: readonly Uint8Array[], readonly uncles: readonly Uint8Array[] }
  | { readonly kind: 'reject', readonly request: HashRequest }

/**
 * The framed bytes (length prefix included) of a hash request.
 *
 * @example
 * socket.write(encodeHashRequest({ root, base: 2, index: 0, length: 8, proofLayers: 2 }))
 */
export function encodeHashRequest (r: HashRequest): Uint8Array {
  return frame(HASH_REQUEST, r, [])
}

/**
 * The framed bytes of a hash reject (the request it refuses, echoed).
 *
 * @example
 * socket.write(encodeHashReject(request))
 */
export function encodeHashReject (r: HashRequest): Uint8Array {
  return frame(HASH_REJECT, r, [])
}

/**
 * The framed bytes of a hashes message: the requested nodes, then the uncles.
 *
 * @example
 * socket.write(encodeHashes(request, [...nodes, ...uncles]))
 */
export function encodeHashes (r: HashRequest, hashes: readonly Uint8Array[]): Uint8Array {
  return frame(HASHES, r, hashes)
}

function frame (id: number, r: HashRequest, hashes: readonly Uint8Array[]): Uint8Array {
  if (r.root.length !== HASH_SIZE) throw new RangeError(`hash message: root of ${r.root.length} bytes`)
  for (const n of [r.base, r.index, r.length, r.proofLayers]) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`hash message: field ${n} is not a 32-bit unsigned integer`)
  }
  const body = HASH_REQUEST_BODY + hashes.length * HASH_SIZE
  const out = new Uint8Array(4 + body)
  const view = new DataView(out.buffer)
  view.setUint32(0, body)
  out[4] = id
  out.set(r.root, 5)
  view.setUint32(5 + HASH_SIZE, r.base)
  view.setUint32(9 + HASH_SIZE, r.index)
  view.setUint32(13 + HASH_SIZE, r.length)
  view.setUint32(17 + HASH_SIZE, r.proofLayers)
  let at = 4 + HASH_REQUEST_BODY
  for (const h of hashes) {
    if (h.length !== HASH_SIZE) throw new RangeError(`hash message: a hash of ${h.length} bytes`)
    out.set(h, at)
    at += HASH_SIZE
  }
  return out
}

/**
 * Decode a message body (id byte first, no length prefix). The hashes are
 * copies: the body may be a view of a reused buffer.
 *
 * @example
 * const m = decodeHashMessage(body)
 * if (!m.ok) peer.close(m.reason)
 * else if (m.value.kind === 'request') answer(m.value.request)
 */
export function decodeHashMessage (body: Uint8Array): { ok: true, value: HashMessage } | { ok: false, reason: string } {
  const id = body[0]
  if (id !== HASH_REQUEST && id !== HASHES && id !== HASH_REJECT) return { ok: false, reason: `message id ${String(id)} is not a hash message` }
  const name = id === HASH_REQUEST ? 'hash request' : id === HASHES ? 'hashes message' : 'hash reject'
  if (body.length < HASH_REQUEST_BODY) return { ok: false, reason: `${name} of ${body.length} bytes (at least ${HASH_REQUEST_BODY})` }
  if (id !== HASHES && body.length !== HASH_REQUEST_BODY) return { ok: false, reason: `${name} of ${body.length} bytes (exactly ${HASH_REQUEST_BODY})` }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  const request: HashRequest = {
    root: copy(body, 1, 1 + HASH_SIZE),
    base: view.getUint32(1 + HASH_SIZE),
    index: view.getUint32(5 + HASH_SIZE),
    length: view.getUint32(9 + HASH_SIZE),
    proofLayers: view.getUint32(13 + HASH_SIZE)
  }
  if (id === HASH_REQUEST) return { ok: true, value: { kind: 'request', request } }
  if (id === HASH_REJECT) return { ok: true, value: { kind: 'reject', request } }
  const extra = body.length - HASH_REQUEST_BODY
  if (extra % HASH_SIZE !== 0) return { ok: false, reason: `hashes message carries ${extra} bytes of hashes, not a whole number of 32-byte hashes` }
  if (request.length === 0 || request.length > MAX_HASH_RANGE) return { ok: false, reason: `hashes message for ${request.length} nodes (1 to ${MAX_HASH_RANGE})` }
  const uncles = uncleCount(request.length, request.proofLayers)
  if (uncles > MAX_UNCLES) return { ok: false, reason: `hashes message proves ${request.proofLayers} layers (no tree is that deep)` }
  const count = extra / HASH_SIZE
  if (count !== request.length + uncles) return { ok: false, reason: `hashes message carries ${count} hashes, expected ${request.length} nodes and ${uncles} uncles` }
  const all: Uint8Array[] = []
  for (let i = 0; i < count; i++) all.push(copy(body, HASH_REQUEST_BODY + i * HASH_SIZE, HASH_REQUEST_BODY + (i + 1) * HASH_SIZE))
  return { ok: true, value: { kind: 'hashes', request, hashes: all.slice(0, request.length), uncles: all.slice(request.length) } }
}

/** A copy of bytes `from` to `to` (a Buffer's slice would be a view). */
const copy = (body: Uint8Array, from: number, to: number): Uint8Array => new Uint8Array(body.subarray(from, to))

/**
 * True when two requests name the same range (an answer matches its request this way).
 *
 * @example
 * const pending = asked.find((r) => sameRequest(r, answer.request))
 */
export function sameRequest (a: HashRequest, b: HashRequest): boolean {
  if (a.base !== b.base || a.index !== b.index || a.length !== b.length || a.proofLayers !== b.proofLayers) return false
  for (let i = 0; i < HASH_SIZE; i++) if (a.root[i] !== b.root[i]) return false
  return true
}
