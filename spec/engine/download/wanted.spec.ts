/** File selection and reader deadlines in the picker (download/wanted.ts through download/picker.ts). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { PiecePicker, type PeerView } from '../../../lib/engine/download/picker.ts'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'

const B = 16384
const seed = (n: number): PeerView => ({ id: 'seed', has: (p) => p >= 0 && p < n })
const make = (n: number) => {
  const p = new PiecePicker({ pieceCount: n, pieceLength: 2 * B, length: n * 2 * B, rng: () => 0 })
  const all = new Bitfield(n)
  for (let i = 0; i < n; i++) all.set(i)
  p.addAvailability(all)
  return p
}
/** Picks, receives and verifies everything one peer is given, until nothing is left; returns the pieces in the order started. */
const drain = (p: PiecePicker, peer: PeerView, per = 2): number[] => {
  const order: number[] = []
  for (let round = 0; round < 1000; round++) {
    const reqs = p.pick(peer, per)
    if (reqs.length === 0) break
    for (const r of reqs) {
      if (!order.includes(r.piece)) order.push(r.piece)
      if (p.received(peer.id, r).pieceComplete) p.verified(r.piece)
    }
  }
  return order
}

test('skipped pieces are never picked, not missing; the torrent completes on the wanted ones', () => {
  const p = make(6)
  p.wanted.setRank(2, 0)
  p.wanted.setRank(3, 0)
  assert.equal(p.missingBlocks(), 8)
  assert.equal(p.wanted.wants(2), false)
  const order = drain(p, seed(6))
  assert.deepEqual([...order].sort(), [0, 1, 4, 5])
  assert.equal(p.isComplete(), true)
  assert.equal(p.hasAll(), false)
  // a skipped piece wanted again is fetched
  p.wanted.setRank(3, 2)
  assert.equal(p.isComplete(), false)
  assert.deepEqual(drain(p, seed(6)), [3])
  assert.equal(p.isComplete(), true)
})

test('high before normal before low; critical pieces before everything, even of a skipped file', () => {
  const p = make(8)
  p.wanted.setRank(0, 1)
  p.wanted.setRank(1, 1)
  p.wanted.setRank(6, 3)
  p.wanted.setRank(7, 0)
  p.wanted.setCritical([5, 7])
  const order = drain(p, seed(8), 1)
  assert.deepEqual(order.slice(0, 3), [5, 7, 6])
  assert.deepEqual(order.slice(-2).sort(), [0, 1])
  assert.equal(order.length, 8)
})

test('a skipped piece no reader needs any more goes back to the parking unless started', () => {
  const p = make(4)
  p.wanted.setRank(3, 0)
  p.wanted.setCritical([3])
  assert.equal(p.wanted.wants(3), true)
  assert.equal(p.missingBlocks(), 8)
  p.wanted.setCritical([])
  assert.equal(p.wanted.wants(3), false)
  assert.equal(p.missingBlocks(), 6)
  // started, then dropped from the window: it finishes
  p.wanted.setCritical([3])
  const [r] = p.pick(seed(4), 1)
  assert.equal(r!.piece, 3)
  p.wanted.setCritical([])
  assert.equal(p.missingBlocks(), 8)
})

test('a verified skipped piece that is lost again stays parked; resume of a skipped piece', () => {
  const p = make(4)
  p.wanted.setRank(1, 0)
  const bits = new Bitfield(4)
  bits.set(1) // verified from the parts file at start
  bits.set(2)
  p.setHave(bits)
  assert.equal(p.have(1), true)
  assert.equal(p.missingBlocks(), 4)
  p.failed(1)
  assert.equal(p.missingBlocks(), 4)
  assert.equal(p.wanted.wants(1), false)
  p.failed(2)
  assert.equal(p.missingBlocks(), 6)
})

test('property: any ranks, windows, picks and failures: missing counts exactly the blocks of wanted or critical unverified pieces; skipped, non-critical fresh pieces never start', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.array(
        fc.oneof(
          fc.record({ k: fc.constant('rank' as const), p: fc.nat({ max: 11 }), r: fc.integer({ min: 0, max: 3 }) }),
          fc.record({ k: fc.constant('crit' as const), ps: fc.array(fc.nat({ max: 11 }), { maxLength: 3 }) }),
          fc.record({ k: fc.constant('pick' as const), n: fc.integer({ min: 1, max: 4 }) }),
          fc.record({ k: fc.constant('fail' as const), p: fc.nat({ max: 11 }) }),
        ),
        { maxLength: 40 },
      ),
      (n, ops) => {
        const p = make(n)
        const ranks = new Array<number>(n).fill(2)
        let crit = new Set<number>()
        const started = new Set<number>()
        const got = new Map<number, number>()
        for (const op of ops) {
          if (op.k === 'rank') {
            if (op.p >= n) continue
            p.wanted.setRank(op.p, op.r)
            ranks[op.p] = op.r
          } else if (op.k === 'crit') {
            p.wanted.setCritical(op.ps)
            crit = new Set(op.ps.filter((x) => x < n))
          } else if (op.k === 'fail') {
            if (op.p >= n) continue
            p.failed(op.p)
            started.delete(op.p)
            got.delete(op.p)
          } else {
            for (const r of p.pick(seed(n), op.n)) {
              if (!started.has(r.piece)) {
                assert.ok(ranks[r.piece]! > 0 || crit.has(r.piece), `started skipped piece ${r.piece}`)
                started.add(r.piece)
              }
              const res = p.received('seed', r)
              if (res.accepted) got.set(r.piece, (got.get(r.piece) ?? 0) + 1)
              if (res.pieceComplete) {
                p.verified(r.piece)
                started.delete(r.piece)
                got.delete(r.piece)
              }
            }
          }
          // blocks the picker counts missing = blocks of unverified pieces that are wanted, critical, or started
          let expect = 0
          for (let i = 0; i < n; i++) if (!p.have(i) && (ranks[i]! > 0 || crit.has(i) || started.has(i))) expect += 2 - (got.get(i) ?? 0)
          assert.equal(p.missingBlocks(), expect)
          const complete = ranks.every((r, i) => r === 0 || p.have(i))
          assert.equal(p.isComplete(), complete)
        }
      },
    ),
    { numRuns: 300 },
  )
})
