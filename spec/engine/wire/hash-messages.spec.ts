/**
 * The BEP 52 hash messages (ids 21-23): the bytes they encode to, a round trip
 * for any fields (fast-check), and every malformed body refused with a reason.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { randomBytes } from 'node:crypto'
import {
  decodeHashMessage, encodeHashes, encodeHashReject, encodeHashRequest, sameRequest, HASH_REQUEST_BODY, type HashRequest
} from '../../../lib/engine/wire/hash-messages.ts'
import { uncleCount } from '../../../lib/engine/metainfo/merkle-proof.ts'

const root = new Uint8Array(randomBytes(32))
const req: HashRequest = { root, base: 2, index: 512, length: 512, proofLayers: 11 }
const body = (framed: Uint8Array): Uint8Array => framed.subarray(4)

test('a hash request is <len=49><21><pieces root><base><index><length><proof layers>', () => {
  const b = encodeHashRequest(req)
  assert.equal(b.length, 4 + 49)
  assert.deepEqual([...b.subarray(0, 5)], [0, 0, 0, 49, 21])
  assert.deepEqual(b.subarray(5, 37), root)
  assert.deepEqual([...b.subarray(37)], [0, 0, 0, 2, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 11])
  assert.equal(encodeHashReject(req)[4], 23)
})

test('a hashes message carries the nodes then the uncles, and decodes back to them', () => {
  const uncles = uncleCount(req.length, req.proofLayers)
  assert.equal(uncles, 3)
  const hashes = Array.from({ length: req.length + uncles }, () => new Uint8Array(randomBytes(32)))
  const framed = encodeHashes(req, hashes)
  assert.equal(framed.length, 4 + HASH_REQUEST_BODY + hashes.length * 32)
  const m = decodeHashMessage(body(framed))
  assert.ok(m.ok && m.value.kind === 'hashes')
  assert.ok(sameRequest(m.value.request, req))
  assert.deepEqual(m.value.hashes, hashes.slice(0, 512))
  assert.deepEqual(m.value.uncles, hashes.slice(512))
})

test('uncles: the layers up to the top of the requested subtree need none', () => {
  assert.equal(uncleCount(2, 0), 0)
  assert.equal(uncleCount(2, 1), 1)
  assert.equal(uncleCount(8, 2), 0)
  assert.equal(uncleCount(8, 3), 1)
  assert.equal(uncleCount(1, 2), 3)
})

test('round trip: any fields decode to what was encoded (property)', () => {
  const field = fc.integer({ min: 0, max: 0xffffffff })
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 32, maxLength: 32 }), field, field, fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 20 }), fc.constantFrom(21, 22, 23),
    (rootBytes, base, index, lengthLog, proofLayers, id) => {
      const r: HashRequest = { root: rootBytes, base, index, length: 2 ** lengthLog, proofLayers }
      const count = r.length + uncleCount(r.length, r.proofLayers)
      const framed = id === 21 ? encodeHashRequest(r) : id === 23 ? encodeHashReject(r) : encodeHashes(r, Array.from({ length: count }, (_, i) => new Uint8Array(32).fill(i & 0xff)))
      const m = decodeHashMessage(body(framed))
      assert.ok(m.ok, m.ok ? '' : m.reason)
      assert.equal(m.value.kind, id === 21 ? 'request' : id === 23 ? 'reject' : 'hashes')
      assert.ok(sameRequest(m.value.request, r))
      if (m.value.kind === 'hashes') assert.equal(m.value.hashes.length + m.value.uncles.length, count)
    }
  ), { numRuns: 200 })
})

test('malformed bodies are refused with a reason', () => {
  const request = body(encodeHashRequest(req))
  assert.match(reason(request.subarray(0, 48)), /hash request of 48 bytes/)
  assert.match(reason(new Uint8Array([...request, 0])), /exactly 49/)
  const reject = body(encodeHashReject(req))
  assert.match(reason(reject.subarray(0, 10)), /hash reject of 10 bytes/)
  const small: HashRequest = { root, base: 2, index: 0, length: 2, proofLayers: 0 }
  const hashes = body(encodeHashes(small, [new Uint8Array(32), new Uint8Array(32)]))
  assert.match(reason(hashes.subarray(0, hashes.length - 1)), /not a whole number/)
  assert.match(reason(hashes.subarray(0, hashes.length - 32)), /carries 1 hashes, expected 2 nodes and 0 uncles/)
  assert.match(reason(body(encodeHashes({ ...small, length: 0 }, []))), /for 0 nodes/)
  assert.match(reason(body(encodeHashes({ ...small, proofLayers: 1000 }, []))), /no tree is that deep/)
  assert.match(reason(new Uint8Array([7, 1, 2])), /not a hash message/)
  assert.throws(() => encodeHashRequest({ ...req, root: new Uint8Array(31) }), RangeError)
  assert.throws(() => encodeHashRequest({ ...req, index: -1 }), RangeError)
})

test('requests compare by every field and the whole root', () => {
  const other = root.slice()
  other[31] = (other[31] ?? 0) ^ 1
  assert.ok(sameRequest(req, { ...req, root: root.slice() }))
  assert.ok(!sameRequest(req, { ...req, root: other }))
  assert.ok(!sameRequest(req, { ...req, proofLayers: 10 }))
})

function reason (b: Uint8Array): string {
  const m = decodeHashMessage(b)
  assert.ok(!m.ok, 'expected a refusal')
  return m.reason
}
