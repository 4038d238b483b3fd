/** Connection admission (lib/engine/policy/admission.ts), on its own: pure, so checked over generated histories. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  admissionLimits,
  admitPeer,
  defaultAdmissionLimits,
  firstMessageVerdict,
  isLoopback,
  leastUseful,
  PendingHandshakes,
  type AdmissionPeerView
} from '../../../lib/engine/policy/admission.ts'

const limits = admissionLimits({ maxPending: 4, maxPendingPerAddress: 2, maxConnsPerAddress: 2, handshakeTimeout: 100, firstMessageTimeout: 50 })

test('limits: defaults, overrides, and counts of at least one', () => {
  assert.deepEqual(admissionLimits(), defaultAdmissionLimits)
  assert.equal(defaultAdmissionLimits.maxPending, 256)
  assert.equal(admissionLimits({ maxConnsPerAddress: 1 }).maxConnsPerAddress, 1)
  assert.equal(admissionLimits({ maxPending: 0, maxPendingPerAddress: -3 }).maxPending, 1)
  assert.equal(admissionLimits({ maxPending: 0, maxPendingPerAddress: -3 }).maxPendingPerAddress, 1)
  assert.equal(admissionLimits({ maxPending: undefined }).maxPending, 256)
})

test('loopback addresses', () => {
  for (const h of ['127.0.0.1', '127.4.5.6', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h)
  for (const h of ['10.0.0.1', '198.51.100.7', '::2', '1270.0.0.1', '::ffff:10.0.0.1']) assert.ok(!isLoopback(h), h)
})

test('pending: a full listener evicts the oldest idle connection for a newcomer, never refuses it', () => {
  const p = new PendingHandshakes<string>(limits)
  assert.deepEqual(p.arrive('a', '198.51.100.1', 0), [])
  assert.deepEqual(p.arrive('b', '198.51.100.2', 1), [])
  assert.deepEqual(p.arrive('c', '198.51.100.3', 2), [])
  assert.deepEqual(p.arrive('d', '198.51.100.4', 3), [])
  p.progressed('a')
  // Full: every address holds one slot; a's handshake is under way, b is the oldest idle one.
  assert.deepEqual(p.arrive('e', '198.51.100.5', 4), ['b'])
  assert.equal(p.size, 4)
  assert.ok(p.has('e') && p.has('a') && !p.has('b'))
  p.progressed('c')
  p.progressed('d')
  p.progressed('e')
  // Nothing idle left: the oldest goes.
  assert.deepEqual(p.arrive('f', '198.51.100.6', 5), ['a'])
})

test('pending: the address holding the most slots gives one up, its idle connections first', () => {
  const p = new PendingHandshakes<string>(admissionLimits({ maxPending: 4, capLoopback: false }))
  p.arrive('honest', '127.0.0.1', 0)
  p.progressed('honest')
  p.arrive('x1', '127.0.0.1', 1)
  p.arrive('x2', '127.0.0.1', 2)
  p.arrive('other', '198.51.100.9', 3)
  // Loopback is not capped per address, but it holds the most slots: its oldest idle one goes.
  assert.deepEqual(p.arrive('x3', '127.0.0.1', 4), ['x1'])
  assert.deepEqual(p.arrive('x4', '127.0.0.1', 5), ['x2'])
  assert.deepEqual(p.arrive('x5', '127.0.0.1', 6), ['x3'])
  assert.ok(p.has('honest') && p.has('other'))
})

test('pending: the per-address cap evicts that address\'s own oldest; loopback is exempt unless capLoopback', () => {
  const p = new PendingHandshakes<string>(limits)
  p.arrive('a1', '198.51.100.1', 0)
  p.arrive('a2', '198.51.100.1', 1)
  assert.deepEqual(p.arrive('a3', '198.51.100.1', 2), ['a1'])
  const l = new PendingHandshakes<string>(limits)
  l.arrive('l1', '127.0.0.1', 0)
  l.arrive('l2', '127.0.0.1', 1)
  assert.deepEqual(l.arrive('l3', '127.0.0.1', 2), [])
  const c = new PendingHandshakes<string>(admissionLimits({ ...limits, capLoopback: true }))
  c.arrive('l1', '127.0.0.1', 0)
  c.arrive('l2', '127.0.0.1', 1)
  assert.deepEqual(c.arrive('l3', '127.0.0.1', 2), ['l1'])
})

test('pending: deadlines', () => {
  const p = new PendingHandshakes<string>(limits)
  assert.equal(p.nextDeadline(), undefined)
  p.arrive('a', '198.51.100.1', 10)
  p.arrive('b', '198.51.100.2', 30)
  assert.equal(p.nextDeadline(), 110)
  assert.deepEqual(p.expired(109), [])
  assert.deepEqual(p.expired(110), ['a'])
  assert.deepEqual(p.expired(130), ['a', 'b'])
  p.settle('a')
  assert.equal(p.nextDeadline(), 130)
  p.settle('a') // twice: harmless
  assert.equal(p.size, 1)
})

test('pending, over random histories: bounds hold, the newcomer always gets in, an idle connection always goes before one in progress of the same address', () => {
  const host = fc.constantFrom('127.0.0.1', '198.51.100.1', '198.51.100.2', '203.0.113.5')
  const op = fc.oneof(
    { weight: 5, arbitrary: host.map((h) => ({ kind: 'arrive' as const, host: h })) },
    { weight: 2, arbitrary: fc.nat(40).map((i) => ({ kind: 'progress' as const, i })) },
    { weight: 2, arbitrary: fc.nat(40).map((i) => ({ kind: 'settle' as const, i })) }
  )
  const limitsArb = fc.record({
    maxPending: fc.integer({ min: 1, max: 8 }),
    maxPendingPerAddress: fc.integer({ min: 1, max: 4 }),
    capLoopback: fc.boolean()
  })
  fc.assert(
    fc.property(limitsArb, fc.array(op, { maxLength: 80 }), (l, ops) => {
      const lim = admissionLimits(l)
      const p = new PendingHandshakes<number>(lim)
      const model = new Map<number, { host: string; progressed: boolean }>()
      let next = 0
      for (const o of ops) {
        if (o.kind === 'arrive') {
          const key = next++
          const evicted = p.arrive(key, o.host, key)
          assert.ok(evicted.length <= 1)
          for (const k of evicted) {
            const e = model.get(k)
            assert.ok(e !== undefined, 'only pending connections are evicted')
            if (e.progressed) {
              const idleOfSameHost = [...model.values()].some((m) => m.host === e.host && !m.progressed)
              assert.ok(!idleOfSameHost, 'an idle connection of that address should have gone first')
            }
            model.delete(k)
          }
          model.set(key, { host: o.host, progressed: false })
        } else {
          const keys = [...model.keys()]
          if (keys.length === 0) continue
          const k = keys[o.i % keys.length]!
          if (o.kind === 'progress') {
            p.progressed(k)
            model.get(k)!.progressed = true
          } else {
            p.settle(k)
            model.delete(k)
          }
        }
        assert.equal(p.size, model.size)
        assert.ok(p.size <= lim.maxPending)
        for (const k of model.keys()) assert.ok(p.has(k))
        const per = new Map<string, number>()
        for (const m of model.values()) per.set(m.host, (per.get(m.host) ?? 0) + 1)
        for (const [h, n] of per) if (lim.capLoopback || !isLoopback(h)) assert.ok(n <= lim.maxPendingPerAddress, `${h}: ${n}`)
      }
    }),
    { numRuns: 500 }
  )
})

test('pending: one honest handshake in progress survives any flood of idle connections from its own address', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 0, max: 1000 }), (cap, flood) => {
      const p = new PendingHandshakes<string>(admissionLimits({ maxPending: cap }))
      for (let i = 0; i < cap - 1; i++) p.arrive(`idle-${i}`, '127.0.0.1', i)
      p.arrive('honest', '127.0.0.1', cap)
      p.progressed('honest')
      for (let i = 0; i < flood; i++) assert.ok(!p.arrive(`flood-${i}`, '127.0.0.1', cap + 1 + i).includes('honest'))
      assert.ok(p.has('honest'))
    })
  )
})

const view = (id: string, over: Partial<AdmissionPeerView> = {}): AdmissionPeerView => ({
  id,
  host: `198.51.100.${id.length}`,
  connectedAt: 0,
  amInterested: false,
  peerInterested: false,
  saidSomethingUseful: false,
  ...over
})

test('torrent: room left admits; a full torrent evicts its least useful peer (silent before useful, oldest first)', () => {
  const peers = [
    view('busy', { peerInterested: true, connectedAt: 0 }),
    view('spoke', { saidSomethingUseful: true, connectedAt: 1 }),
    view('silent-new', { connectedAt: 5 }),
    view('silent-old', { connectedAt: 2 })
  ]
  assert.deepEqual(admitPeer(peers, '203.0.113.1', false, limits), { kind: 'admit' })
  assert.deepEqual(admitPeer(peers, '203.0.113.1', true, limits), { kind: 'evict', id: 'silent-old' })
  assert.equal(leastUseful(peers.filter((p) => !p.id.startsWith('silent')))?.id, 'spoke')
})

test('torrent: peers with interest either way are never evicted for a newcomer', () => {
  const peers = [view('a', { amInterested: true }), view('b', { peerInterested: true })]
  const v = admitPeer(peers, '203.0.113.1', true, limits)
  assert.equal(v.kind, 'refuse')
  assert.equal(leastUseful(peers), undefined)
})

test('torrent: the per-address cap takes the slot of that address\'s least useful peer, or refuses; loopback exempt unless capped', () => {
  const h = '203.0.113.9'
  const two = [view('x1', { host: h, connectedAt: 1 }), view('x2', { host: h, connectedAt: 0, saidSomethingUseful: true })]
  assert.deepEqual(admitPeer(two, h, false, limits), { kind: 'evict', id: 'x1' })
  const busy = two.map((p) => ({ ...p, amInterested: true }))
  assert.equal(admitPeer(busy, h, false, limits).kind, 'refuse')
  const local = two.map((p) => ({ ...p, host: '127.0.0.1' }))
  assert.deepEqual(admitPeer(local, '127.0.0.1', false, limits), { kind: 'admit' })
  assert.deepEqual(admitPeer(local, '127.0.0.1', false, { ...limits, capLoopback: true }), { kind: 'evict', id: 'x1' })
})

test('torrent, over random peer sets: an evicted peer has no interest either way and none is less useful', () => {
  const peerArb = fc.record({
    connectedAt: fc.nat(1000),
    amInterested: fc.boolean(),
    peerInterested: fc.boolean(),
    saidSomethingUseful: fc.boolean(),
    host: fc.constantFrom('198.51.100.1', '198.51.100.2', '127.0.0.1')
  })
  fc.assert(
    fc.property(fc.array(peerArb, { maxLength: 12 }), fc.constantFrom('198.51.100.1', '203.0.113.3', '127.0.0.1'), fc.boolean(), (ps, host, full) => {
      const peers = ps.map((p, i) => ({ ...p, id: `p${i}` }))
      const v = admitPeer(peers, host, full, limits)
      const sameHost = peers.filter((p) => p.host === host)
      const overCap = !isLoopback(host) && sameHost.length >= limits.maxConnsPerAddress
      const pool = overCap ? sameHost : peers
      const idle = pool.filter((p) => !p.amInterested && !p.peerInterested)
      if (v.kind === 'admit') assert.ok(!full && !overCap)
      else if (v.kind === 'refuse') assert.ok((full || overCap) && idle.length === 0)
      else {
        const victim = pool.find((p) => p.id === v.id)
        assert.ok(victim !== undefined && !victim.amInterested && !victim.peerInterested)
        for (const o of idle) {
          if (!o.saidSomethingUseful && victim.saidSomethingUseful) assert.fail(`${o.id} never spoke, ${victim.id} did`)
          if (o.saidSomethingUseful === victim.saidSomethingUseful) assert.ok(victim.connectedAt <= o.connectedAt)
        }
      }
    }),
    { numRuns: 1000 }
  )
})

test('first message: close exactly at the deadline when nothing came, ok once anything came', () => {
  assert.equal(firstMessageVerdict(100, undefined, 149, limits), 'wait')
  assert.equal(firstMessageVerdict(100, undefined, 150, limits), 'close')
  assert.equal(firstMessageVerdict(100, 120, 10_000, limits), 'ok')
})
