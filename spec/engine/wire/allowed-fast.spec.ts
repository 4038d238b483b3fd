import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  allowedFastSet, availabilityMessage, mayRequest, onChoked, rejected, piecesToAllow,
  FastRejects, FAST_REJECT_RETRY, MAX_UNANSWERED_CANCELS
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

test('the Reject that follows our Cancel answers it, even when the same block was asked for again meanwhile', () => {
  const answers = new FastRejects()
  // Cancel (request timeout), then Request again for the same block, as one tick does.
  answers.cancelled(7, 0, 16384)
  answers.cancelled(7, 16384, 16384)
  assert.equal(answers.answersCancel(7, 0, 16384), true, 'the first answer is the cancelled request\'s')
  assert.equal(answers.answersCancel(7, 0, 16384), false, 'the next one answers the new request')
  assert.equal(answers.answersCancel(7, 16384, 100), false, 'another length is another block')
  assert.equal(answers.answersCancel(8, 0, 16384), false)
  assert.equal(answers.answersCancel(7, 16384, 16384), true)
  // a block cancelled twice is answered twice
  answers.cancelled(1, 0, 16384)
  answers.cancelled(1, 0, 16384)
  assert.equal(answers.answersCancel(1, 0, 16384), true)
  assert.equal(answers.answersCancel(1, 0, 16384), true)
  assert.equal(answers.answersCancel(1, 0, 16384), false)
})

test('an allowed-fast piece a choking peer rejects is asked for again after the retry delay, or once it unchokes', () => {
  const now = 1_000_000
  const answers = new FastRejects()
  assert.equal(answers.mayAsk(3, now), true)
  answers.refused(3, now)
  assert.equal(answers.mayAsk(3, now), false)
  assert.equal(answers.mayAsk(3, now + FAST_REJECT_RETRY - 1), false)
  assert.equal(answers.mayAsk(4, now), true, 'other pieces are not held back')
  assert.equal(answers.mayAsk(3, now + FAST_REJECT_RETRY), true)
  assert.equal(answers.mayAsk(3, now + FAST_REJECT_RETRY), true)
  answers.refused(3, now)
  answers.unchoked()
  assert.equal(answers.mayAsk(3, now), true)
  const quick = new FastRejects(50)
  quick.refused(9, now)
  assert.equal(quick.mayAsk(9, now + 49), false)
  assert.equal(quick.mayAsk(9, now + 50), true)
})

test('cancels a peer never answers are forgotten past the cap', () => {
  const answers = new FastRejects()
  for (let i = 0; i < MAX_UNANSWERED_CANCELS; i++) answers.cancelled(i, 0, 16384)
  assert.equal(answers.answersCancel(0, 0, 16384), true)
  answers.cancelled(0, 0, 16384)
  answers.cancelled(MAX_UNANSWERED_CANCELS, 0, 16384)
  assert.equal(answers.answersCancel(1, 0, 16384), false, 'the old ones are gone')
  assert.equal(answers.answersCancel(MAX_UNANSWERED_CANCELS, 0, 16384), true, 'the newest is kept')
})

test('property: every cancel is answered once, in any interleaving with other blocks', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 }))), (cancels) => {
    const answers = new FastRejects()
    const count = new Map<string, number>()
    for (const [p, b] of cancels) {
      answers.cancelled(p, b * 16384, 16384)
      count.set(`${p}:${b}`, (count.get(`${p}:${b}`) ?? 0) + 1)
    }
    for (let p = 0; p <= 5; p++) {
      for (let b = 0; b <= 3; b++) {
        for (let n = count.get(`${p}:${b}`) ?? 0; n > 0; n--) assert.equal(answers.answersCancel(p, b * 16384, 16384), true)
        assert.equal(answers.answersCancel(p, b * 16384, 16384), false)
      }
    }
  }))
})
