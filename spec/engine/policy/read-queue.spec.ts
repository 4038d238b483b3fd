import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MIN_QUEUED, MOOT_SECONDS, UNRANKED, aheadBudget, readQueueCap, readQueueMoot, reorder } from '../../../lib/engine/policy/read-queue.ts'

const B = 16384

test('read queue: about a second of the peer’s data, within its depth, never under the floor', () => {
  assert.equal(readQueueCap(200_000, B, 64), 13)
  assert.equal(readQueueCap(50e6, B, 500), 500)
  assert.equal(readQueueCap(0, B, 64), MIN_QUEUED)
  assert.equal(readQueueCap(Number.NaN, B, 64), MIN_QUEUED)
  assert.equal(readQueueCap(1e6, B, 16), 16)
})

test('ahead budget: transit, plus the blocks the peer delivers before the piece is due (its share of the torrent)', () => {
  const one = { blocksPerPiece: 4, peerRate: 200e3, torrentRate: 200e3, blockSize: B }
  assert.equal(aheadBudget(0, one), 5)
  assert.equal(aheadBudget(1, one), 9)
  // a peer giving a quarter of the torrent's rate delivers a quarter of each piece-time
  assert.equal(aheadBudget(3, { ...one, peerRate: 50e3 }), 2 + 3)
  // nothing measured: the peer's share counts as all of it, the transit as the floor
  assert.equal(aheadBudget(0, { ...one, peerRate: 0, torrentRate: 0 }), MIN_QUEUED + 3)
  // a fast peer has more on the wire
  assert.equal(aheadBudget(0, { ...one, peerRate: 20e6, torrentRate: 20e6 }), Math.ceil(2e6 / B) + 3)
})

test('reorder: a seek’s blocks behind a queue of blocks nobody waits for: the nearest ones ahead go, the oldest stay', () => {
  const ranks = [...Array<number>(10).fill(UNRANKED), 0, 0, 0, 0]
  assert.deepEqual(reorder(ranks, 4, { cap: 13, budget: () => 5 }), [9, 8, 7, 6, 5, 4, 3, 2])
})

test('reorder: requests already in rank order within budget and cap stay', () => {
  assert.deepEqual(reorder([0, 0, 1, 1, 2, 2, UNRANKED, UNRANKED], 0, { cap: 8, budget: (r) => 2 * r + 1 }), [])
  assert.deepEqual(reorder([UNRANKED, UNRANKED], 0, { cap: 2, budget: () => 0 }), [])
})

test('reorder: readers’ requests queued behind worse ones are reached too (not only the incoming)', () => {
  // pieces 0 and 1 (ranks 0, 1) were asked after a batch for ranks 2..5
  const ranks = [2, 2, 3, 3, 4, 4, 5, 5, 0, 0, 1, 1]
  const out = reorder(ranks, 0, { cap: 100, budget: (r) => 1 + 2 * r })
  // rank 0's last block (index 9) may have one ahead, its own first block: every worse one goes
  const kept = ranks.map((_, i) => i).filter((i) => !out.includes(i))
  assert.deepEqual(kept, [8, 9, 10, 11])
  // with room for two more ahead, the oldest two stay (the nearest go first)
  assert.deepEqual(reorder(ranks, 0, { cap: 100, budget: (r) => 3 + 2 * r }), [7, 6, 5, 4, 3, 2])
})

test('reorder: over the cap, the newest unranked requests go; readers’ requests are never cut for the cap', () => {
  assert.deepEqual(reorder([UNRANKED, 0, UNRANKED, 1, UNRANKED], 0, { cap: 3, budget: () => 100 }), [4, 2])
  assert.deepEqual(reorder([0, 1, 2, 3], 0, { cap: 2, budget: () => 100 }), [])
})

const rankArb = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant(UNRANKED))

test('reorder (property): withdraws only sent requests, each with a more urgent one behind it or past the cap; what stays meets every budget it can', () => {
  fc.assert(
    fc.property(
      fc.array(rankArb, { maxLength: 60 }),
      fc.nat({ max: 10 }),
      fc.integer({ min: 1, max: 40 }),
      fc.nat({ max: 6 }),
      fc.nat({ max: 5 }),
      (ranks, incomingWant, cap, base, step) => {
        const incoming = Math.min(incomingWant, ranks.length)
        const sent = ranks.length - incoming
        const budget = (r: number): number => base + step * r
        const out = reorder(ranks, incoming, { cap, budget })
        // newest first, unique, only sent requests
        for (let k = 1; k < out.length; k++) assert.ok(out[k - 1]! > out[k]!)
        for (const i of out) assert.ok(i >= 0 && i < sent)
        const gone = new Set(out)
        const keptIdx = ranks.map((_, i) => i).filter((i) => !gone.has(i))
        // a withdrawn request had a more urgent one behind it, or was unranked (the cap)
        for (const i of out) assert.ok(ranks[i] === UNRANKED || ranks.slice(i + 1).some((r) => r < ranks[i]!), `withdrew ${i} of ${ranks}`)
        // every critical rank's last request: within its budget, or nothing worse is left ahead of it that could go
        for (const r of new Set(ranks.filter((x) => x !== UNRANKED))) {
          const at = ranks.lastIndexOf(r)
          const ahead = keptIdx.filter((j) => j < at)
          if (ahead.length > budget(r)) assert.ok(ahead.every((j) => j >= sent || !(ranks[j]! > r)), `rank ${r} at ${at}: ${ahead.length} ahead over ${budget(r)}`)
        }
        // past the cap only when no sent unranked request is left
        if (keptIdx.length > cap) assert.ok(keptIdx.every((j) => j >= sent || ranks[j] !== UNRANKED))
        // nothing at all to do: nothing withdrawn
        const inOrder = ranks.every((r, i) => i === 0 || !(ranks[i - 1]! > r))
        if (inOrder && ranks.length <= cap && ranks.length <= base) assert.deepEqual(out, [])
      },
    ),
    { numRuns: 500 },
  )
})

test('moot: only where the peer’s whole queue drains within half a second; an unmeasured peer keeps the rules', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 500 }), fc.double({ min: 0, max: 200e6, noNaN: true }), (depth, peerRate) => {
      const o = { blocksPerPiece: 16, peerRate, torrentRate: peerRate, blockSize: B }
      assert.equal(readQueueMoot(depth, o), peerRate > 0 && (depth * B) / peerRate <= MOOT_SECONDS)
    }),
  )
  const fast = { blocksPerPiece: 16, peerRate: 100e6, torrentRate: 100e6, blockSize: B }
  assert.equal(readQueueMoot(500, fast), true)
  assert.equal(readQueueMoot(500, { ...fast, peerRate: 2e6, torrentRate: 2e6 }), false)
  assert.equal(readQueueMoot(13, { ...fast, peerRate: 200e3, torrentRate: 200e3 }), false, 'a seek at 200 KB/s keeps the rules')
  assert.equal(readQueueMoot(500, { ...fast, peerRate: 0 }), false)
  assert.equal(readQueueMoot(500, { ...fast, peerRate: Number.NaN }), false)
})
