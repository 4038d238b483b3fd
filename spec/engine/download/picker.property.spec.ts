import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { PiecePicker } from '../../../lib/engine/download/picker.ts'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'
import type { BlockRequest } from '../../../lib/engine/contracts.ts'

type Op =
  | { t: 'join'; peer: number; seed: number[] }
  | { t: 'leave'; peer: number }
  | { t: 'gain'; peer: number; piece: number }
  | { t: 'pick'; peer: number; max: number }
  | { t: 'recv'; peer: number; k: number }
  | { t: 'bogus'; peer: number; piece: number; block: number }
  | { t: 'timeout'; peer: number; k: number }
  | { t: 'hash'; k: number; ok: boolean }
  | { t: 'restrict'; peer: number; piece: number }

const PEERS = 4
const ENDGAME = 2
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('join' as const), peer: fc.nat(PEERS - 1), seed: fc.oneof(fc.array(fc.nat(), { maxLength: 4 }), fc.array(fc.nat(), { maxLength: 60, size: 'max' })) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('leave' as const), peer: fc.nat(PEERS - 1) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('gain' as const), peer: fc.nat(PEERS - 1), piece: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('pick' as const), peer: fc.nat(PEERS - 1), max: fc.integer({ min: 0, max: 12 }) }), weight: 5 },
  { arbitrary: fc.record({ t: fc.constant('recv' as const), peer: fc.nat(PEERS - 1), k: fc.nat() }), weight: 5 },
  { arbitrary: fc.record({ t: fc.constant('bogus' as const), peer: fc.nat(PEERS - 1), piece: fc.nat(), block: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('timeout' as const), peer: fc.nat(PEERS - 1), k: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('hash' as const), k: fc.nat(), ok: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('restrict' as const), peer: fc.nat(PEERS - 1), piece: fc.nat() }), weight: 2 },
)

const geometry = fc
  .record({ blockSize: fc.integer({ min: 1, max: 8 }), blocksPerPiece: fc.integer({ min: 1, max: 4 }), extra: fc.integer({ min: 0, max: 7 }) })
  .chain(({ blockSize, blocksPerPiece, extra }) => {
    const pieceLength = blockSize * blocksPerPiece + (extra % blockSize)
    return fc.record({
      blockSize: fc.constant(blockSize),
      pieceLength: fc.constant(pieceLength),
      length: fc.integer({ min: 0, max: pieceLength * 24 }),
    })
  })

const k = (piece: number, offset: number) => `${piece}:${offset}`

test('picker model: safety and liveness under random swarms', () => {
  fc.assert(
    fc.property(geometry, fc.array(op, { maxLength: 200, size: 'max' }), fc.integer({ min: 0, max: 0xffff }), (g, ops, rngSeed) => {
      const pieceCount = Math.ceil(g.length / g.pieceLength)
      let s = rngSeed
      const rng = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x80000000)
      const p = new PiecePicker({ ...g, pieceCount, rng, endgamePeers: ENDGAME })

      // model
      const peers = new Map<number, Bitfield>()
      const out = new Map<string, Map<string, BlockRequest>>() // peer -> outstanding
      const got = new Set<string>() // received blocks of unverified pieces
      const verified = new Set<number>()
      const restricted = new Map<number, string>() // piece -> the only peer that may get its blocks
      const allBlocks = (piece: number) => Array.from({ length: p.blocksOf(piece) }, (_, b) => p.blockRequest(piece, b))
      const pieceDone = (piece: number) => allBlocks(piece).every((r) => got.has(k(r.piece, r.offset)))
      const holders = (key: string) => [...out].filter(([, m]) => m.has(key)).map(([id]) => id)
      const freeBlocks = () => {
        let n = 0
        for (let pc = 0; pc < pieceCount; pc++) {
          if (verified.has(pc)) continue
          for (const r of allBlocks(pc)) {
            const key = k(r.piece, r.offset)
            if (!got.has(key) && holders(key).length === 0) n++
          }
        }
        return n
      }
      const missing = () => {
        let n = 0
        for (let pc = 0; pc < pieceCount; pc++) if (!verified.has(pc)) n += allBlocks(pc).filter((r) => !got.has(k(r.piece, r.offset))).length
        return n
      }
      const outOf = (id: string) => {
        let m = out.get(id)
        if (!m) out.set(id, (m = new Map()))
        return m
      }
      const checkInvariants = () => {
        for (const [id, m] of out) {
          assert.deepEqual(p.requestedBy(id).map((r) => k(r.piece, r.offset)).sort(), [...m.keys()].sort(), `outstanding of ${id}`)
        }
        assert.equal(p.missingBlocks(), missing())
        assert.equal(p.haveCount(), verified.size)
        for (let pc = 0; pc < pieceCount; pc++) assert.equal(p.restrictedTo(pc), restricted.get(pc), `restriction of piece ${pc}`)
      }
      const doPick = (idx: number, id: string, bits: Bitfield, max: number) => {
        const before = outOf(id)
        const reqs = p.pick({ id, has: (i) => bits.get(i) }, max)
        assert.ok(reqs.length <= max)
        const seen = new Set<string>()
        let dup = false
        for (const r of reqs) {
          const key = k(r.piece, r.offset)
          assert.ok(bits.get(r.piece), `peer ${idx} lacks piece ${r.piece}`)
          assert.ok(!verified.has(r.piece), 'verified piece requested')
          const only = restricted.get(r.piece)
          assert.ok(only === undefined || only === id, `piece ${r.piece} is restricted to ${only}, given to ${id}`)
          assert.ok(!got.has(key), 'received block requested')
          assert.ok(!before.has(key) && !seen.has(key), 'duplicate request to the same peer')
          assert.deepEqual(r, p.blockRequest(r.piece, r.offset / g.blockSize))
          seen.add(key)
          if (holders(key).length > 0) dup = true
        }
        for (const r of reqs) before.set(k(r.piece, r.offset), r)
        if (dup) assert.equal(freeBlocks(), 0, 'duplicate request outside endgame')
        for (const r of reqs) assert.ok(holders(k(r.piece, r.offset)).length <= ENDGAME, 'endgame bound')
        return reqs
      }
      const doRecv = (id: string, r: BlockRequest) => {
        const key = k(r.piece, r.offset)
        const others = holders(key).filter((h) => h !== id)
        const res = p.received(id, r)
        assert.equal(res.accepted, true)
        assert.deepEqual([...res.cancelPeers].sort(), others.sort())
        for (const m of out.values()) m.delete(key)
        got.add(key)
        assert.equal(res.pieceComplete, pieceDone(r.piece))
      }
      const hash = (piece: number, ok: boolean) => {
        for (const r of allBlocks(piece)) got.delete(k(r.piece, r.offset))
        restricted.delete(piece)
        if (ok) {
          p.verified(piece)
          verified.add(piece)
        } else p.failed(piece)
      }

      for (const o of ops) {
        const id = `p${'peer' in o ? o.peer : 0}`
        switch (o.t) {
          case 'join': {
            if (peers.has(o.peer)) break
            const b = new Bitfield(pieceCount)
            for (const x of o.seed) if (pieceCount > 0) b.set(x % pieceCount)
            peers.set(o.peer, b)
            p.addAvailability(b)
            break
          }
          case 'leave': {
            const b = peers.get(o.peer)
            if (!b) break
            p.releasePeer(id)
            for (const [pc, only] of restricted) if (only === id) restricted.delete(pc)
            p.removeAvailability(b)
            out.delete(id)
            peers.delete(o.peer)
            break
          }
          case 'gain': {
            const b = peers.get(o.peer)
            if (!b || pieceCount === 0 || b.get(o.piece % pieceCount)) break
            b.set(o.piece % pieceCount)
            p.addHave(o.piece % pieceCount)
            break
          }
          case 'pick': {
            const b = peers.get(o.peer)
            if (b) doPick(o.peer, id, b, o.max)
            break
          }
          case 'recv': {
            const m = out.get(id)
            if (!m || m.size === 0) break
            doRecv(id, [...m.values()][o.k % m.size]!)
            break
          }
          case 'bogus': {
            if (pieceCount === 0) break
            const piece = o.piece % pieceCount
            const r = p.blockRequest(piece, o.block % p.blocksOf(piece))
            if (out.get(id)?.has(k(r.piece, r.offset))) break
            assert.equal(p.received(id, r).accepted, false, 'unrequested block accepted')
            break
          }
          case 'timeout': {
            const m = out.get(id)
            if (!m || m.size === 0) break
            const r = [...m.values()][o.k % m.size]!
            p.cancelled(id, r)
            m.delete(k(r.piece, r.offset))
            break
          }
          case 'hash': {
            const done = Array.from({ length: pieceCount }, (_, i) => i).filter((i) => !verified.has(i) && pieceDone(i))
            if (done.length > 0) hash(done[o.k % done.length]!, o.ok)
            break
          }
          case 'restrict': {
            // The torrent restricts a piece only to a connected peer (it is released when it leaves).
            if (pieceCount === 0 || !peers.has(o.peer)) break
            const piece = o.piece % pieceCount
            p.restrict(piece, id)
            if (!verified.has(piece)) restricted.set(piece, id)
            break
          }
        }
        checkInvariants()
        assert.equal(p.inEndgame(), missing() > 0 && freeBlocks() === 0)
      }

      // liveness: the others leave, a seed arrives; everything is obtainable
      for (const [i, b] of peers) {
        p.releasePeer(`p${i}`)
        for (const [pc, only] of restricted) if (only === `p${i}`) restricted.delete(pc)
        p.removeAvailability(b)
        out.delete(`p${i}`)
      }
      const seedBits = new Bitfield(pieceCount)
      for (let i = 0; i < pieceCount; i++) seedBits.set(i)
      p.addAvailability(seedBits)
      for (let i = 0; i < pieceCount; i++) if (!verified.has(i) && pieceDone(i)) hash(i, true)
      for (let round = 0; round < 1000 && !p.isComplete(); round++) {
        const reqs = doPick(-1, 'seed', seedBits, 7)
        assert.ok(reqs.length > 0, 'stalled with blocks missing')
        for (const r of reqs) doRecv('seed', r)
        for (const r of reqs) if (!verified.has(r.piece) && pieceDone(r.piece)) hash(r.piece, true)
        checkInvariants()
      }
      assert.equal(p.isComplete(), true)
      assert.equal(p.missingBlocks(), 0)
      assert.deepEqual(p.pick({ id: 'seed', has: () => true }, 10), [])
      assert.deepEqual(p.pick({ id: 'x', has: () => true }, 10), [])
    }),
    { numRuns: 300 },
  )
})

test('a restricted piece goes to its one peer only, in endgame too, until verified, failed or that peer is released', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.nat(), fc.constantFrom('verified', 'failed', 'released' as const), (pieceCount, blocks, which, end) => {
      const blockSize = 4
      const p = new PiecePicker({ pieceCount, pieceLength: blockSize * blocks, length: blockSize * blocks * pieceCount, blockSize, rng: () => 0.5 })
      const all = new Bitfield(pieceCount)
      for (let i = 0; i < pieceCount; i++) all.set(i)
      p.addAvailability(all)
      p.addAvailability(all)
      const a = { id: 'a', has: () => true }
      const b = { id: 'b', has: () => true }
      const piece = which % pieceCount
      p.restrict(piece, 'b')
      // a takes everything it may: every other piece, and then (endgame) nothing of `piece`
      for (let round = 0; round < 4; round++) {
        for (const r of p.pick(a, 1000)) {
          assert.notEqual(r.piece, piece, 'a got a block of the piece restricted to b')
          const res = p.received('a', r)
          if (res.pieceComplete) p.verified(r.piece)
        }
      }
      assert.equal(p.haveCount(), pieceCount - 1)
      assert.equal(p.inEndgame(), false, 'restricted blocks are not up for endgame duplicates')
      assert.deepEqual(p.pick(a, 10), [])
      // b alone gets the whole piece
      const mine = p.pick(b, 1000)
      assert.equal(mine.length, blocks)
      assert.ok(mine.every((r) => r.piece === piece))
      if (end === 'released') {
        p.releasePeer('b')
        assert.equal(p.restrictedTo(piece), undefined)
        assert.equal(p.pick(a, 1000).length, blocks, 'the piece is open to a once b is released')
        return
      }
      for (const r of mine) p.received('b', r)
      if (end === 'verified') p.verified(piece)
      else p.failed(piece)
      assert.equal(p.restrictedTo(piece), undefined)
      assert.equal(p.pick(a, 1000).length, end === 'verified' ? 0 : blocks)
    }),
    { numRuns: 300 },
  )
})
