import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RequestPipeline, MAX_UNREQUESTED, MAX_TIMEOUTS, type RequestPeer } from '../../../lib/engine/download/requests.ts'
import { PiecePicker } from '../../../lib/engine/download/picker.ts'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'
import type { BlockRequest } from '../../../lib/engine/contracts.ts'
import { ManualClock } from '../../support/engine-fakes.ts'

const B = 16384

/** A peer with the pipeline state of wire/peer.ts, without a socket. */
class FakePeer implements RequestPeer {
  ready = true
  closed = false
  reason = ''
  inflight = 0
  depth = 64
  trusted = true
  unverified = 0
  lastBlockAt = 0
  timeouts = 0
  late = 0
  unrequested = 0
  readonly asked: BlockRequest[] = []
  readonly cancels: BlockRequest[] = []
  readonly wire = { peerChoking: false, amInterested: false, interested: () => (this.wire.amInterested = true), uninterested: () => (this.wire.amInterested = false) }
  constructor(readonly id: string, readonly bits: Bitfield) {}
  has(piece: number): boolean {
    return this.bits.get(piece)
  }
  requestMany(reqs: readonly BlockRequest[]): void {
    this.inflight += reqs.length
    this.asked.push(...reqs)
  }
  cancel(piece: number, offset: number, length: number): void {
    this.inflight--
    this.late++
    this.cancels.push({ piece, offset, length })
  }
  refused(limit: number): boolean {
    if (this.late > 0) this.late--
    else this.unrequested++
    return this.unrequested > limit
  }
  delivered(): void {
    this.inflight--
  }
  timedOut(now: number): number {
    this.late += this.inflight
    this.inflight = 0
    this.depth = 16
    this.lastBlockAt = now
    return ++this.timeouts
  }
  close(reason: string): void {
    this.closed = true
    this.reason = reason
  }
}

const all = (n: number): Bitfield => {
  const b = new Bitfield(n)
  for (let i = 0; i < n; i++) b.set(i)
  return b
}

const rig = (pieces: number, pieceLength: number, o: { budget?: number; full?: boolean } = {}) => {
  const picker = new PiecePicker({ pieceCount: pieces, pieceLength, length: pieces * pieceLength, rng: () => 0 })
  const clock = new ManualClock()
  const peers = new Map<string, FakePeer>()
  const refused: number[] = []
  let budget = o.budget ?? Infinity
  const pipeline = new RequestPipeline({
    picker,
    throttle: { available: () => budget, delay: () => 50, charge: (n) => (budget -= n) },
    full: () => o.full === true,
    peers: () => peers.values(),
    peer: (id) => peers.get(id),
    requestTimeout: 30000,
    now: clock.now,
    closed: () => false,
    refused: (_p, bytes) => refused.push(bytes)
  })
  const add = (id: string): FakePeer => {
    const p = new FakePeer(id, all(pieces))
    peers.set(id, p)
    picker.addAvailability(p.bits)
    return p
  }
  return { picker, pipeline, clock, add, refused, peers }
}

test('requests: interest follows what the peer has that we lack; an interested, unchoked peer is filled to its depth', () => {
  const r = rig(8, 4 * B)
  const p = r.add('a')
  r.pipeline.updateInterest(p)
  assert.equal(p.wire.amInterested, true)
  assert.equal(p.asked.length, 32, 'all 32 blocks fit in a depth of 64')
  for (let i = 0; i < 8; i++) r.picker.verified(i)
  r.pipeline.updateInterest(p)
  assert.equal(p.wire.amInterested, false)
})

test('requests: an untrusted peer holds at most two pieces of unverified data; choked or full: nothing asked', () => {
  const r = rig(16, 4 * B)
  const p = r.add('a')
  p.trusted = false
  p.wire.amInterested = true
  r.pipeline.fill(p)
  assert.equal(p.asked.length, 8, 'two pieces of 4 blocks')
  const choked = r.add('b')
  choked.wire.peerChoking = true
  choked.wire.amInterested = true
  r.pipeline.fill(choked)
  assert.equal(choked.asked.length, 0)
  const full = rig(4, 4 * B, { full: true })
  const q = full.add('c')
  q.wire.amInterested = true
  full.pipeline.fill(q)
  assert.equal(q.asked.length, 0, 'assembly back-pressure stops requests')
})

test('requests: the download budget caps what is asked and is charged', () => {
  const r = rig(8, 4 * B, { budget: 5 * B })
  const p = r.add('a')
  p.wire.amInterested = true
  r.pipeline.fill(p)
  assert.equal(p.asked.length, 5)
  r.pipeline.clear()
})

test('requests: an accepted block credits its sender and cancels it at the others (endgame); refusals close past MAX_UNREQUESTED', () => {
  const r = rig(1, B)
  const a = r.add('a')
  const b = r.add('b')
  a.wire.amInterested = b.wire.amInterested = true
  r.pipeline.fill(a)
  r.pipeline.fill(b) // endgame: the only block is asked of both
  assert.equal(b.asked.length, 1)
  const res = r.pipeline.received(a, 0, 0, B)
  assert.equal(res.accepted, true)
  assert.equal(res.pieceComplete, true)
  assert.deepEqual(b.cancels, [{ piece: 0, offset: 0, length: B }])
  // b's late answer is forgiven; blocks nobody asked for are not.
  assert.equal(r.pipeline.received(b, 0, 0, B).accepted, false)
  assert.equal(b.closed, false)
  for (let i = 0; i < MAX_UNREQUESTED; i++) r.pipeline.received(b, 0, 0, B)
  assert.equal(b.closed, false)
  r.pipeline.received(b, 0, 0, B)
  assert.equal(b.reason, 'sent blocks we did not request')
  assert.equal(r.refused.length, MAX_UNREQUESTED + 2)
  assert.equal(r.pipeline.received(b, 99, 0, B).accepted, false, 'a piece out of range is refused, not thrown')
})

test('requests: a stalled peer gives its blocks back and is closed after MAX_TIMEOUTS', () => {
  const r = rig(4, 4 * B)
  const a = r.add('a')
  a.wire.amInterested = true
  a.lastBlockAt = r.clock.now()
  r.pipeline.fill(a)
  assert.equal(r.picker.requestedBy('a').length, 16)
  r.clock.advance(30001)
  r.pipeline.checkStall(a, r.clock.now())
  assert.equal(r.picker.requestedBy('a').length, 0)
  assert.equal(a.depth, 16)
  const b = r.add('b')
  b.wire.amInterested = true
  r.pipeline.fill(b)
  assert.equal(b.asked.length, 16, 'the stalled peer\'s blocks went to another')
  for (let i = 1; i < MAX_TIMEOUTS; i++) {
    r.pipeline.fill(a)
    r.clock.advance(30001)
    r.pipeline.checkStall(a, r.clock.now())
  }
  assert.equal(a.reason, 'too many request timeouts')
})

/** A FakePeer with a measured rate (bytes/s). */
const rated = (p: FakePeer, rate: number): FakePeer & { down: { rate(): number } } => Object.assign(p, { down: { rate: () => rate } })

test('requests: a seek’s piece behind a full queue: the nearest blocks ahead are withdrawn, its blocks asked at once, the others asked again behind them', () => {
  // 32 pieces of 4 blocks; a 200 KB/s peer (about 13 blocks a second) holds 64 requests for pieces nobody reads
  const r = rig(32, 4 * B)
  const p = rated(r.add('a'), 200_000)
  p.wire.amInterested = true
  r.pipeline.fill(p)
  assert.equal(p.asked.length, 64)
  const queued = r.picker.requestedBy('a')
  assert.ok(!queued.some((q) => q.piece === 25), 'rng 0 asks the lowest pieces first: 25 is not queued')
  // a reader seeks to piece 25
  r.picker.wanted.setCritical([25, 26])
  r.pipeline.fill(p)
  const after = r.picker.requestedBy('a')
  const at = (piece: number) => after.findIndex((q) => q.piece === piece)
  assert.ok(at(25) >= 0 && at(26) >= 0, 'the seek’s pieces are asked')
  // the cap is 13: the newest of the others went first, so the oldest stay ahead
  assert.ok(p.cancels.length >= 64 - 13, `${p.cancels.length} withdrawn`)
  assert.deepEqual(p.cancels[0], queued.at(-1), 'the newest first')
  const ahead = after.slice(0, after.map((q) => q.piece).lastIndexOf(25))
  const worse = ahead.filter((q) => q.piece !== 25)
  assert.ok(worse.length <= 2, `${worse.length} blocks of other pieces ahead of the seek’s piece`)
  assert.ok(worse.every((w) => queued.slice(0, 2).some((q) => q.piece === w.piece && q.offset === w.offset)), 'the ones left ahead are the oldest')
  // the seek's blocks are asked right after the first 64, and the queue is held to the cap
  assert.ok(p.asked.slice(64, 64 + 8).every((q) => q.piece === 25 || q.piece === 26))
  assert.ok(p.inflight <= 13 + 4, `${p.inflight} outstanding`)
})

test('requests: readers’ pieces asked before the reader came, behind worse ones, are moved ahead; in order, nothing is withdrawn', () => {
  const r = rig(16, 4 * B)
  const p = rated(r.add('a'), 200_000)
  p.wire.amInterested = true
  p.depth = 24
  r.pipeline.fill(p) // pieces 0..5, oldest first
  assert.deepEqual([...new Set(r.picker.requestedBy('a').map((q) => q.piece))], [0, 1, 2, 3, 4, 5])
  // a reader needs piece 5 now, then 0
  r.picker.wanted.setCritical([5, 0])
  r.pipeline.fill(p)
  const withdrawn = new Set(p.cancels.map((c) => c.piece))
  assert.ok(!withdrawn.has(5), 'the piece due now stays')
  assert.ok(withdrawn.has(4) && withdrawn.has(3), 'the nearest worse ones ahead of it go')
  const after = r.picker.requestedBy('a')
  const last5 = after.map((q) => q.piece).lastIndexOf(5)
  assert.ok(after.slice(0, last5).filter((q) => q.piece !== 5).length <= 2, 'two blocks of others at most ahead of it (on the wire)')
  // piece 0, due next, is asked again right behind it, before anything nobody reads
  const first0 = after.findIndex((q) => q.piece === 0 && after.indexOf(q) > last5)
  assert.ok(first0 === -1 || after.slice(last5 + 1, first0).every((q) => q.piece === 0))
  assert.ok(after.some((q) => q.piece === 0), 'piece 0 is still asked')

  // a reader whose pieces are queued in its order, within a second of data: no withdrawal
  const s = rig(16, 4 * B)
  const q = rated(s.add('b'), 200_000)
  q.wire.amInterested = true
  s.picker.wanted.setCritical([0, 1, 2])
  s.pipeline.fill(q)
  assert.deepEqual([...new Set(s.picker.requestedBy('b').map((x) => x.piece))].slice(0, 3), [0, 1, 2])
  assert.ok(q.asked.length <= 13, `kept to a second of data (${q.asked.length})`)
  s.pipeline.fill(q)
  assert.equal(q.cancels.length, 0)
})
