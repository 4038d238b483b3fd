import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PiecePicker, type PeerView } from '../../../lib/engine/download/picker.ts'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'
import type { BlockRequest } from '../../../lib/engine/contracts.ts'

const B = 16384

function bits(n: number, pieces: Iterable<number>): Bitfield {
  const b = new Bitfield(n)
  for (const p of pieces) b.set(p)
  return b
}
function peer(id: string, b: Bitfield): PeerView {
  return { id, has: (i) => b.get(i) }
}
function allOf(n: number): Bitfield {
  return bits(n, Array.from({ length: n }, (_, i) => i))
}
const key = (r: BlockRequest) => `${r.piece}:${r.offset}`

test('geometry: last piece and last block shorter', () => {
  const p = new PiecePicker({ pieceCount: 3, pieceLength: 2 * B + 100, length: 2 * (2 * B + 100) + B + 7 })
  assert.equal(p.pieceSize(0), 2 * B + 100)
  assert.equal(p.blocksOf(0), 3)
  assert.equal(p.pieceSize(2), B + 7)
  assert.equal(p.blocksOf(2), 2)
  assert.deepEqual(p.blockRequest(0, 2), { piece: 0, offset: 2 * B, length: 100 })
  assert.deepEqual(p.blockRequest(2, 1), { piece: 2, offset: B, length: 7 })
  assert.equal(p.missingBlocks(), 3 + 3 + 2)
  assert.throws(() => p.pieceSize(3), RangeError)
  assert.throws(() => new PiecePicker({ pieceCount: 2, pieceLength: 10, length: 21 }), RangeError)
})

test('exact multiple: last piece full length', () => {
  const p = new PiecePicker({ pieceCount: 2, pieceLength: 2 * B, length: 4 * B })
  assert.equal(p.pieceSize(1), 2 * B)
  assert.equal(p.blocksOf(1), 2)
})

test('pick returns whole last piece with the short block', () => {
  const p = new PiecePicker({ pieceCount: 2, pieceLength: 2 * B, length: 3 * B + 5 })
  const a = peer('a', bits(2, [1]))
  p.addAvailability(bits(2, [1]))
  assert.deepEqual(p.pick(a, 10), [
    { piece: 1, offset: 0, length: B },
    { piece: 1, offset: B, length: 5 },
  ])
})

test('rarest first', () => {
  const n = 6
  const p = new PiecePicker({ pieceCount: n, pieceLength: B, length: n * B, rng: () => 0 })
  p.addAvailability(allOf(n))
  p.addAvailability(bits(n, [0, 1, 2, 4, 5]))
  p.addAvailability(bits(n, [0, 1, 2, 5]))
  // availability: 0..2 -> 3, 3 -> 1, 4 -> 2, 5 -> 3
  assert.equal(p.availability(3), 1)
  const seed = peer('s', allOf(n))
  assert.deepEqual(p.pick(seed, 1).map((r) => r.piece), [3])
  assert.deepEqual(p.pick(seed, 1).map((r) => r.piece), [4])
  p.addHave(0)
  p.removeAvailability(bits(n, [0, 1, 2, 4, 5]))
  // now 1, 2 -> 2 ; 0, 5 -> 3
  const next = p.pick(seed, 2).map((r) => r.piece).sort()
  assert.deepEqual(next, [1, 2])
})

test('random tie-break uses the injected rng', () => {
  const n = 50
  const seen = new Set<number>()
  for (const x of [0, 0.25, 0.5, 0.75, 0.99]) {
    const p = new PiecePicker({ pieceCount: n, pieceLength: B, length: n * B, rng: () => x })
    p.addAvailability(allOf(n))
    seen.add(p.pick(peer('s', allOf(n)), 1)[0]!.piece)
  }
  assert.ok(seen.size >= 3, `only ${[...seen]}`)
})

test('partial pieces are finished first, own pieces before others', () => {
  const n = 10
  const p = new PiecePicker({ pieceCount: n, pieceLength: 4 * B, length: n * 4 * B, rng: () => 0 })
  p.addAvailability(allOf(n))
  const a = peer('a', allOf(n))
  const b = peer('b', allOf(n))
  const first = p.pick(a, 2)
  assert.equal(new Set(first.map((r) => r.piece)).size, 1)
  const piece = first[0]!.piece
  // b completes a's piece before starting another one
  const bReqs = p.pick(b, 3)
  assert.deepEqual(bReqs.slice(0, 2).map((r) => r.piece), [piece, piece])
  const other = bReqs[2]!.piece
  assert.notEqual(other, piece)
  // a gets back one block of b's piece? No: a's own pieces first (none open), then b's open piece
  const more = p.pick(a, 3)
  assert.deepEqual(more.map((r) => r.piece), [other, other, other])
  // a release of b's block makes it free; b asks again and gets its own piece first
  p.cancelled('b', bReqs[0]!)
  const again = p.pick(b, 1)
  assert.deepEqual(again.map(key), [key(bReqs[0]!)])
})

test('never requests a piece the peer lacks', () => {
  const n = 8
  const p = new PiecePicker({ pieceCount: n, pieceLength: B, length: n * B })
  const has = bits(n, [1, 6])
  p.addAvailability(allOf(n))
  p.addAvailability(has)
  const reqs = p.pick(peer('a', has), 100)
  assert.deepEqual(reqs.map((r) => r.piece).sort(), [1, 6])
  assert.deepEqual(p.pick(peer('a', has), 100), [])
  assert.deepEqual(p.pick(peer('z', new Bitfield(n)), 100), [])
})

test('no double requests outside endgame', () => {
  const n = 4
  const p = new PiecePicker({ pieceCount: n, pieceLength: 2 * B, length: n * 2 * B })
  p.addAvailability(allOf(n))
  p.addAvailability(allOf(n))
  const a = p.pick(peer('a', allOf(n)), 3)
  const b = p.pick(peer('b', allOf(n)), 3)
  const keys = [...a, ...b].map(key)
  assert.equal(new Set(keys).size, 6)
  assert.equal(p.inEndgame(), false)
})

test('endgame duplicates are bounded and received() cancels the others', () => {
  const n = 2
  const p = new PiecePicker({ pieceCount: n, pieceLength: B, length: n * B, endgamePeers: 2 })
  for (let i = 0; i < 3; i++) p.addAvailability(allOf(n))
  const a = p.pick(peer('a', allOf(n)), 10)
  assert.equal(a.length, 2)
  assert.equal(p.inEndgame(), true)
  const b = p.pick(peer('b', allOf(n)), 10)
  assert.deepEqual(b.map(key).sort(), a.map(key).sort())
  // a third peer cannot add a third copy with endgamePeers = 2
  assert.deepEqual(p.pick(peer('c', allOf(n)), 10), [])
  // a peer never gets the same block twice
  assert.deepEqual(p.pick(peer('a', allOf(n)), 10), [])
  const r = p.received('b', a[0]!)
  assert.deepEqual(r, { accepted: true, pieceComplete: true, cancelPeers: ['a'] })
  assert.equal(p.requestedBy('a').length, 1)
  assert.equal(p.received('a', a[0]!).accepted, false)
})

test('releasePeer returns its blocks to the pool', () => {
  const n = 2
  const p = new PiecePicker({ pieceCount: n, pieceLength: 2 * B, length: n * 2 * B })
  p.addAvailability(allOf(n))
  const a = p.pick(peer('a', allOf(n)), 3)
  assert.equal(p.requestedBy('a').length, 3)
  p.received('a', a[0]!)
  p.releasePeer('a')
  assert.deepEqual(p.requestedBy('a'), [])
  const b = p.pick(peer('b', allOf(n)), 10)
  const everything = [0, 1].flatMap((pc) => [0, 1].map((bl) => key(p.blockRequest(pc, bl))))
  assert.deepEqual(b.map(key).sort(), everything.filter((k) => k !== key(a[0]!)).sort())
  assert.equal(b.length, 3)
  assert.ok(!b.some((r) => key(r) === key(a[0]!)), 'received block not re-requested')
  assert.equal(p.inEndgame(), true)
  assert.equal(p.received('a', a[1]!).accepted, false, 'released request no longer accepted from a')
})

test('failed() resets a piece; verified() completes', () => {
  const p = new PiecePicker({ pieceCount: 1, pieceLength: 2 * B, length: 2 * B })
  p.addAvailability(allOf(1))
  const a = peer('a', allOf(1))
  const reqs = p.pick(a, 5)
  assert.equal(reqs.length, 2)
  assert.equal(p.received('a', reqs[0]!).pieceComplete, false)
  assert.equal(p.missingBlocks(), 1)
  assert.equal(p.received('a', reqs[1]!).pieceComplete, true)
  assert.equal(p.missingBlocks(), 0)
  assert.deepEqual(p.pick(a, 5), [])
  p.failed(0)
  assert.equal(p.missingBlocks(), 2)
  assert.equal(p.have(0), false)
  const again = p.pick(a, 5)
  assert.deepEqual(again.map(key), reqs.map(key))
  for (const r of again) p.received('a', r)
  p.verified(0)
  assert.equal(p.have(0), true)
  assert.equal(p.haveCount(), 1)
  assert.equal(p.isComplete(), true)
  assert.deepEqual(p.pick(a, 5), [])
})

test('received() rejects unrequested, duplicate, malformed and out-of-range blocks', () => {
  const p = new PiecePicker({ pieceCount: 2, pieceLength: 2 * B, length: 3 * B + 5 })
  p.addAvailability(allOf(2))
  const reqs = p.pick(peer('a', allOf(2)), 1)
  const r = reqs[0]!
  assert.equal(p.received('b', r).accepted, false, 'requested from another peer')
  assert.equal(p.received('a', { ...r, offset: r.offset + 1 }).accepted, false)
  assert.equal(p.received('a', { ...r, length: r.length - 1 }).accepted, false)
  assert.equal(p.received('a', { piece: 7, offset: 0, length: B }).accepted, false)
  assert.equal(p.received('a', { piece: -1, offset: 0, length: B }).accepted, false)
  assert.equal(p.received('a', { piece: 1, offset: 2 * B, length: B }).accepted, false)
  assert.equal(p.received('a', { piece: 1, offset: B, length: 5 }).accepted, false, 'never requested')
  assert.equal(p.received('a', r).accepted, true)
  assert.equal(p.received('a', r).accepted, false, 'duplicate')
})

test('setHave marks verified pieces and isComplete', () => {
  const n = 5
  const p = new PiecePicker({ pieceCount: n, pieceLength: B, length: n * B - 3 })
  p.setHave(bits(n, [0, 2]))
  assert.equal(p.haveCount(), 2)
  assert.equal(p.missingBlocks(), 3)
  p.addAvailability(allOf(n))
  assert.deepEqual(p.pick(peer('a', allOf(n)), 10).map((r) => r.piece).sort(), [1, 3, 4])
  p.setHave(allOf(n))
  assert.equal(p.isComplete(), true)
  assert.deepEqual(p.requestedBy('a'), [])
  assert.deepEqual(p.pick(peer('a', allOf(n)), 10), [])
  p.setHave(bits(n, [1]))
  assert.equal(p.haveCount(), 1)
  assert.equal(p.missingBlocks(), 4)
})

test('zero-length torrent is complete', () => {
  const p = new PiecePicker({ pieceCount: 0, pieceLength: B, length: 0 })
  assert.equal(p.isComplete(), true)
  assert.deepEqual(p.pick(peer('a', new Bitfield(0)), 5), [])
})

test('large torrent: many picks stay correct (4096 pieces)', () => {
  const n = 4096
  const p = new PiecePicker({ pieceCount: n, pieceLength: 16 * B, length: n * 16 * B })
  const peers = Array.from({ length: 20 }, (_, i) => {
    const b = new Bitfield(n)
    for (let j = 0; j < n; j++) if ((j * 7 + i) % 3 !== 0 || i === 0) b.set(j)
    p.addAvailability(b)
    return peer(`p${i}`, b)
  })
  let done = 0
  for (let round = 0; round < 2000 && !p.isComplete(); round++) {
    for (const pv of peers) {
      for (const r of p.pick(pv, 64)) {
        assert.ok(pv.has(r.piece))
        const res = p.received(pv.id, r)
        assert.equal(res.accepted, true)
        if (res.pieceComplete) {
          p.verified(r.piece)
          done++
        }
      }
    }
  }
  assert.equal(done, n)
  assert.equal(p.isComplete(), true)
})
