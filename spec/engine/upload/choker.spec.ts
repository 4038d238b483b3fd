import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Choker, type ChokePeerView } from '../../../lib/engine/upload/choker.ts'

/** Small seeded PRNG (mulberry32): reproducible draws for the statistical checks. */
const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type MutablePeer = { -readonly [K in keyof ChokePeerView]: ChokePeerView[K] }

const peer = (id: string, over: Partial<MutablePeer> = {}): MutablePeer => ({
  id,
  interested: true,
  downRateFromPeer: 0,
  upRateToPeer: 0,
  connectedAt: -1e9, // long connected: not "new"
  amChoking: true,
  ...over
})

/** Apply a decision to the views, as the engine does to its wires. */
const apply = (peers: MutablePeer[], d: { unchoke: string[]; choke: string[] }): void => {
  for (const p of peers) {
    if (d.unchoke.includes(p.id)) p.amChoking = false
    if (d.choke.includes(p.id)) p.amChoking = true
  }
}

const unchokedIds = (peers: readonly MutablePeer[]): string[] => peers.filter((p) => !p.amChoking).map((p) => p.id).sort()

describe('Choker', () => {
  test('downloading: the fastest senders get the regular slots, one more peer the optimistic one', () => {
    const c = new Choker({ slots: 2, rng: seeded(1) })
    const peers = [
      peer('slow', { downRateFromPeer: 10 }),
      peer('fast', { downRateFromPeer: 1000 }),
      peer('mid', { downRateFromPeer: 500 }),
      peer('idle', { downRateFromPeer: 0 }),
      peer('rich-but-uninterested', { interested: false, downRateFromPeer: 1e6 })
    ]
    const d = c.rechoke(0, peers, false)
    assert.deepEqual(c.regularPeers.sort(), ['fast', 'mid'])
    const opt = c.optimisticPeer
    assert.ok(opt === 'slow' || opt === 'idle', `optimistic ${opt}`)
    assert.deepEqual(d.choke, [])
    assert.deepEqual([...d.unchoke].sort(), ['fast', 'mid', opt!].sort())
    // In peers order.
    assert.deepEqual(d.unchoke, peers.map((p) => p.id).filter((id) => d.unchoke.includes(id)))
  })

  test('seeding: ranked by our upload rate to them, not theirs to us', () => {
    const c = new Choker({ slots: 1, rng: seeded(2) })
    const peers = [peer('a', { downRateFromPeer: 1e6, upRateToPeer: 1 }), peer('b', { downRateFromPeer: 0, upRateToPeer: 900 })]
    c.rechoke(0, peers, true)
    assert.deepEqual(c.regularPeers, ['b'])
    assert.equal(c.optimisticPeer, 'a')
  })

  test('snubbed peers rank last while downloading (still fill an idle slot), not while seeding', () => {
    const a = new Choker({ slots: 1, rng: seeded(3) })
    const peers = [peer('snub', { downRateFromPeer: 1e6, upRateToPeer: 1e6, snubbed: true }), peer('ok', { downRateFromPeer: 1, upRateToPeer: 1 })]
    a.rechoke(0, peers, false)
    assert.deepEqual(a.regularPeers, ['ok'])
    assert.equal(a.optimisticPeer, 'snub', 'a snubbed peer may still hold the optimistic slot')
    const b = new Choker({ slots: 1, rng: seeded(3) })
    b.rechoke(0, peers, true)
    assert.deepEqual(b.regularPeers, ['snub'])
    const c = new Choker({ slots: 2, rng: seeded(3) })
    c.rechoke(0, [peer('s1', { snubbed: true, downRateFromPeer: 5 }), peer('s2', { snubbed: true })], false)
    assert.deepEqual(c.regularPeers.sort(), ['s1', 's2'], 'nobody else wants the slots')
  })

  test('returns only changes: a second call on the applied state says nothing', () => {
    const c = new Choker({ slots: 2, rng: seeded(4) })
    const peers = [peer('a', { downRateFromPeer: 3 }), peer('b', { downRateFromPeer: 2 }), peer('c', { downRateFromPeer: 1 })]
    apply(peers, c.rechoke(0, peers, false))
    assert.deepEqual(unchokedIds(peers), ['a', 'b', 'c'])
    assert.deepEqual(c.rechoke(1000, peers, false), { unchoke: [], choke: [] })
  })

  test('regular slots stay put between rechokes and follow the rates at the next one', () => {
    const c = new Choker({ slots: 1, rechokeMs: 10000, optimisticMs: 1e9, rng: seeded(5) })
    const peers = [peer('a', { downRateFromPeer: 100 }), peer('b', { downRateFromPeer: 10 }), peer('c', { downRateFromPeer: 1 })]
    apply(peers, c.rechoke(0, peers, false))
    assert.deepEqual(c.regularPeers, ['a'])
    peers[2]!.downRateFromPeer = 1e6
    apply(peers, c.rechoke(9999, peers, false))
    assert.deepEqual(c.regularPeers, ['a'], 'no re-choice before rechokeMs')
    apply(peers, c.rechoke(10000, peers, false))
    assert.deepEqual(c.regularPeers, ['c'])
    assert.ok(!peers[2]!.amChoking)
  })

  test('a free slot is filled at once, without waiting for the next rechoke', () => {
    const c = new Choker({ slots: 2, rng: seeded(6) })
    const peers = [peer('a')]
    apply(peers, c.rechoke(0, peers, false))
    assert.deepEqual(unchokedIds(peers), ['a'])
    peers.push(peer('b', { interested: false }))
    assert.deepEqual(c.rechoke(100, peers, false), { unchoke: [], choke: [] }, 'uninterested: stays choked')
    peers[1]!.interested = true
    assert.deepEqual(c.rechoke(200, peers, false), { unchoke: ['b'], choke: [] })
  })

  test('a peer that loses interest is choked and its slot goes to another', () => {
    const c = new Choker({ slots: 1, optimisticMs: 1e9, rng: seeded(7) })
    const peers = [peer('a', { downRateFromPeer: 9 }), peer('b', { downRateFromPeer: 5 }), peer('c', { downRateFromPeer: 1 })]
    apply(peers, c.rechoke(0, peers, false))
    assert.deepEqual(c.regularPeers, ['a'])
    const opt = c.optimisticPeer
    peers[0]!.interested = false
    const d = c.rechoke(1, peers, false)
    assert.deepEqual(d.choke, ['a'])
    const other = ['b', 'c'].find((x) => x !== opt)!
    assert.deepEqual(d.unchoke, [other])
    assert.equal(c.optimisticPeer, opt, 'the optimistic holder keeps its turn')
  })

  test('the optimistic unchoke rotates every optimisticMs, not before', () => {
    const c = new Choker({ slots: 1, rechokeMs: 10000, optimisticMs: 30000, rng: seeded(8) })
    const peers = [peer('top', { downRateFromPeer: 1e6 }), peer('x'), peer('y'), peer('z')]
    apply(peers, c.rechoke(0, peers, false))
    const first = c.optimisticPeer
    assert.ok(first !== null && first !== 'top')
    for (const t of [1000, 10000, 20000, 29999]) {
      assert.deepEqual(c.rechoke(t, peers, false), { unchoke: [], choke: [] }, `t=${t}`)
      assert.equal(c.optimisticPeer, first)
    }
    const d = c.rechoke(30000, peers, false)
    const second = c.optimisticPeer
    assert.ok(second !== null && second !== first && second !== 'top')
    assert.deepEqual(d, { unchoke: [second], choke: [first] })
  })

  test('new peers are three times as likely to win the optimistic unchoke', () => {
    const rng = seeded(9)
    let newWins = 0
    const trials = 6000
    for (let i = 0; i < trials; i++) {
      const c = new Choker({ slots: 0, rng })
      // Weights 3 : 1 : 1, so the new peer should win 3/5 of the draws.
      c.rechoke(100000, [peer('new', { connectedAt: 90000 }), peer('old1', { connectedAt: 0 }), peer('old2', { connectedAt: 39999 })], false)
      if (c.optimisticPeer === 'new') newWins++
    }
    const share = newWins / trials
    assert.ok(Math.abs(share - 0.6) < 0.03, `new peer won ${share}`)
  })

  test('ties are broken at random: the rng decides, and the same rng decides the same', () => {
    const peers = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => peer(id, { downRateFromPeer: 7 }))
    const choice = (seed: number): string => {
      const c = new Choker({ slots: 2, rng: seeded(seed) })
      c.rechoke(0, peers, false)
      return c.regularPeers.sort().join()
    }
    const seen = new Set<string>()
    for (let s = 0; s < 40; s++) seen.add(choice(s))
    assert.ok(seen.size > 3, `only ${[...seen].join(' | ')}`)
    assert.equal(choice(11), choice(11))
  })

  test('switching to seeding re-chooses at once', () => {
    const c = new Choker({ slots: 1, optimisticMs: 1e9, rng: seeded(10) })
    const peers = [peer('giver', { downRateFromPeer: 100, upRateToPeer: 0 }), peer('taker', { downRateFromPeer: 0, upRateToPeer: 100 }), peer('other')]
    c.rechoke(0, peers, false)
    assert.deepEqual(c.regularPeers, ['giver'])
    c.rechoke(1, peers, true)
    assert.deepEqual(c.regularPeers, ['taker'])
  })

  test('a peer that leaves is dropped from the state and never named again', () => {
    const c = new Choker({ slots: 1, rng: seeded(12) })
    const peers = [peer('a', { downRateFromPeer: 5 }), peer('b')]
    apply(peers, c.rechoke(0, peers, false))
    assert.deepEqual(c.regularPeers, ['a'])
    assert.equal(c.optimisticPeer, 'b')
    const d = c.rechoke(1, [peers[1]!], false)
    assert.deepEqual(d, { unchoke: [], choke: [] })
    assert.deepEqual(c.regularPeers, [])
    assert.equal(c.optimisticPeer, 'b', 'b keeps its (optimistic) unchoke until the next rechoke')
    c.rechoke(10000, [peers[1]!], false)
    assert.deepEqual(c.regularPeers, ['b'], 'at the rechoke b wins the regular slot')
    assert.equal(c.optimisticPeer, null)
  })

  test('bad options are refused', () => {
    assert.throws(() => new Choker({ slots: -1 }), RangeError)
    assert.throws(() => new Choker({ slots: 1.5 }), RangeError)
    assert.throws(() => new Choker({ rechokeMs: 0 }), RangeError)
    assert.throws(() => new Choker({ optimisticMs: Number.NaN }), RangeError)
    assert.equal(new Choker().slots, 4)
  })
})

// ---------------------------------------------------------------------------
// properties: random swarms evolving over simulated time

type Step =
  | { t: 'join'; interested: boolean; rate: number; up: number }
  | { t: 'leave'; k: number }
  | { t: 'interest'; k: number; v: boolean }
  | { t: 'rate'; k: number; rate: number; up: number }
  | { t: 'snub'; k: number; v: boolean }
  | { t: 'tick'; dt: number; seeding: boolean }

const rateArb = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1e6 }), fc.constantFrom(Number.NaN, -5, Infinity))
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('join' as const), interested: fc.boolean(), rate: rateArb, up: rateArb }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('leave' as const), k: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('interest' as const), k: fc.nat(), v: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('rate' as const), k: fc.nat(), rate: rateArb, up: rateArb }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('snub' as const), k: fc.nat(), v: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 40000 }), seeding: fc.boolean() }), weight: 4 }
)

interface Trace {
  readonly decisions: { unchoke: string[]; choke: string[] }[]
}

/**
 * Run a scenario, calling rechoke after every step (as the engine does on
 * events and ticks), checking the per-call invariants as it goes.
 */
const run = (slots: number, seed: number, steps: readonly Step[]): Trace => {
  const c = new Choker({ slots, rng: seeded(seed) })
  let peers: MutablePeer[] = []
  const gone = new Set<string>()
  let now = 0
  let seeding = false
  let next = 0
  const decisions: Trace['decisions'] = []
  for (const s of steps) {
    const at = (k: number): MutablePeer | undefined => (peers.length ? peers[k % peers.length] : undefined)
    switch (s.t) {
      case 'join':
        peers.push(peer(`p${next++}`, { interested: s.interested, downRateFromPeer: s.rate, upRateToPeer: s.up, connectedAt: now }))
        break
      case 'leave': {
        const p = at(s.k)
        if (p) {
          gone.add(p.id)
          peers = peers.filter((q) => q !== p)
        }
        break
      }
      case 'interest': {
        const p = at(s.k)
        if (p) p.interested = s.v
        break
      }
      case 'rate': {
        const p = at(s.k)
        if (p) {
          p.downRateFromPeer = s.rate
          p.upRateToPeer = s.up
        }
        break
      }
      case 'snub': {
        const p = at(s.k)
        if (p) p.snubbed = s.v
        break
      }
      case 'tick':
        now += s.dt
        seeding = s.seeding
        break
    }
    const before = new Map(peers.map((p) => [p.id, p.amChoking]))
    const d = c.rechoke(now, peers, seeding)
    decisions.push(d)
    const named = [...d.unchoke, ...d.choke]
    assert.equal(new Set(named).size, named.length, 'no id twice')
    for (const id of named) {
      assert.ok(!gone.has(id), `departed peer ${id} in the output`)
      assert.ok(before.has(id), `unknown peer ${id} in the output`)
    }
    for (const id of d.unchoke) assert.equal(before.get(id), true, 'unchoke only peers we choke')
    for (const id of d.choke) assert.equal(before.get(id), false, 'choke only peers we do not choke')
    apply(peers, d)
    const unchoked = peers.filter((p) => !p.amChoking)
    assert.ok(unchoked.every((p) => p.interested), 'only interested peers are unchoked')
    assert.ok(unchoked.length <= slots + 1, `${unchoked.length} unchoked with ${slots} slots`)
    const interestedCount = peers.filter((p) => p.interested).length
    // Work-conserving: a slot is never left empty while someone interested waits.
    assert.equal(unchoked.length, Math.min(interestedCount, slots + 1), 'slots filled when there is demand')
  }
  return { decisions }
}

describe('Choker properties', () => {
  const scenario = fc.record({
    slots: fc.integer({ min: 0, max: 5 }),
    seed: fc.integer(),
    steps: fc.array(stepArb, { maxLength: 150, size: 'max' })
  })

  test('never more than slots+1 unchoked, all interested; only changes; departed peers never named', () => {
    fc.assert(
      fc.property(scenario, ({ slots, seed, steps }) => {
        run(slots, seed, steps)
      }),
      { numRuns: 300 }
    )
  })

  test('deterministic with a fixed rng', () => {
    fc.assert(
      fc.property(scenario, ({ slots, seed, steps }) => {
        assert.deepEqual(run(slots, seed, steps), run(slots, seed, steps))
      }),
      { numRuns: 100 }
    )
  })

  test('the optimistic unchoke changes hands exactly when its time is up', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 2, max: 6 }),
        fc.integer(),
        fc.array(fc.integer({ min: 1, max: 20000 }), { minLength: 1, maxLength: 40, size: 'max' }),
        (slots, extra, seed, gaps) => {
          const optimisticMs = 30000
          const c = new Choker({ slots, optimisticMs, rng: seeded(seed) })
          // Distinct rates: the regular set is fixed, so only rotation moves the optimistic slot.
          const peers = Array.from({ length: slots + extra }, (_, i) => peer(`p${i}`, { downRateFromPeer: 1000 * (i + 1) }))
          let now = 0
          apply(peers, c.rechoke(now, peers, false))
          let holder = c.optimisticPeer
          let since = now
          assert.ok(holder !== null)
          for (const g of gaps) {
            now += g
            apply(peers, c.rechoke(now, peers, false))
            const h = c.optimisticPeer
            if (now - since >= optimisticMs) {
              assert.notEqual(h, holder, `no rotation after ${now - since} ms`)
              holder = h
              since = now
            } else {
              assert.equal(h, holder, `rotated after only ${now - since} ms`)
            }
            assert.equal(peers.filter((p) => !p.amChoking).length, slots + 1)
          }
        }
      ),
      { numRuns: 200 }
    )
  })
})
