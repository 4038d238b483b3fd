import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  allowedFastSet, availabilityMessage, mayRequest, onChoked, rejected, piecesToAllow
} from '../../../lib/engine/wire/allowed-fast.ts'

const aa = new Uint8Array(20).fill(0xaa)

test('BEP 6 reference vector: 80.4.4.200, info hash 0xAA x 20, 1313 pieces', () => {
  assert.deepEqual(allowedFastSet('80.4.4.200', aa, 1313, 7), [1059, 431, 808, 1217, 287, 376, 1188])
  assert.deepEqual(allowedFastSet('80.4.4.200', aa, 1313, 9), [1059, 431, 808, 1217, 287, 376, 1188, 353, 508])
})

test('the address is masked to its /24; an IPv4-mapped address is its IPv4 address', () => {
  const ref = allowedFastSet('80.4.4.200', aa, 1313, 9)
  assert.deepEqual(allowedFastSet('80.4.4.1', aa, 1313, 9), ref)
  assert.deepEqual(allowedFastSet('::ffff:80.4.4.7', aa, 1313, 9), ref)
  assert.notDeepEqual(allowedFastSet('80.4.5.200', aa, 1313, 9), ref)
})

test('IPv6, a bad info hash or an empty torrent give no set', () => {
  assert.deepEqual(allowedFastSet('::1', aa, 1313, 9), [])
  assert.deepEqual(allowedFastSet('80.4.4.200', new Uint8Array(19), 1313, 9), [])
  assert.deepEqual(allowedFastSet('80.4.4.200', aa, 0, 9), [])
})

test('property: k distinct pieces in range (every piece when the torrent is smaller)', () => {
  fc.assert(fc.property(
    fc.ipV4(), fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 20 }),
    (ip, hash, pieces, k) => {
      const set = allowedFastSet(ip, hash, pieces, k)
      assert.equal(set.length, Math.min(k, pieces))
      assert.equal(new Set(set).size, set.length)
      for (const p of set) assert.ok(Number.isInteger(p) && p >= 0 && p < pieces)
      // a longer set extends a shorter one (the BEP's sequence is a prefix order)
      assert.deepEqual(allowedFastSet(ip, hash, pieces, k + 3).slice(0, set.length), set)
    }))
})

test('availability message: Have All / Have None only with the fast extension', () => {
  assert.equal(availabilityMessage(true, 10, 10), 'have-all')
  assert.equal(availabilityMessage(true, 0, 10), 'have-none')
  assert.equal(availabilityMessage(true, 4, 10), 'bitfield')
  assert.equal(availabilityMessage(false, 10, 10), 'bitfield')
  assert.equal(availabilityMessage(false, 0, 10), 'have-none')
})

test('while choked only allowed-fast pieces may be requested, and only with the fast extension', () => {
  const allowedFast = new Set([3])
  assert.equal(mayRequest({ choked: false, fast: false, allowedFast }, 4), true)
  assert.equal(mayRequest({ choked: true, fast: true, allowedFast }, 3), true)
  assert.equal(mayRequest({ choked: true, fast: true, allowedFast }, 4), false)
  assert.equal(mayRequest({ choked: true, fast: false, allowedFast }, 3), false)
})

test('a choke releases every request without the fast extension and none with it; a reject names one', () => {
  const inflight = [{ piece: 1, offset: 0, length: 16384 }, { piece: 1, offset: 16384, length: 16384 }]
  assert.deepEqual(onChoked(false, inflight), { keep: [], release: inflight })
  assert.deepEqual(onChoked(true, inflight), { keep: inflight, release: [] })
  assert.equal(rejected(inflight, { piece: 1, offset: 16384, length: 16384 }), inflight[1])
  assert.equal(rejected(inflight, { piece: 1, offset: 16384, length: 100 }), null)
  assert.equal(rejected([], { piece: 0, offset: 0, length: 16384 }), null)
})

test('only pieces we have and the peer lacks are announced as allowed fast', () => {
  assert.deepEqual(piecesToAllow([5, 9, 2, 7], (i) => i !== 9, (i) => i === 7), [5, 2])
})
