import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UploadSlots, type SlotPeer } from '../../../lib/engine/upload/slots.ts'
import { ManualClock } from '../../support/engine-fakes.ts'

const peer = (id: string, interested: boolean, rate: number, o: Partial<{ ready: boolean; closed: boolean }> = {}) => {
  const p = {
    id,
    ready: o.ready ?? true,
    closed: o.closed ?? false,
    timeouts: 0,
    down: { rate: () => rate },
    up: { rate: () => 0 },
    wire: {
      peerInterested: interested,
      amChoking: true,
      choke: () => (p.wire.amChoking = true),
      unchoke: () => (p.wire.amChoking = false)
    }
  }
  return p satisfies SlotPeer
}

test('upload slots: unchokes the fastest interested peers within the slots, never a peer not ready', () => {
  const clock = new ManualClock()
  const slots = new UploadSlots({ slots: 2, rng: () => 0 }, clock.now)
  const peers = [peer('slow', true, 10), peer('fast', true, 1000), peer('mid', true, 100), peer('idle', false, 5000), peer('new', true, 9999, { ready: false })]
  slots.rechoke(peers, false)
  const unchoked = peers.filter((p) => !p.wire.amChoking).map((p) => p.id)
  assert.ok(unchoked.includes('fast') && unchoked.includes('mid'), unchoked.join())
  assert.equal(unchoked.includes('new'), false)
  assert.ok(unchoked.length <= 3, 'two regular slots and one optimistic')
})

test('upload slots: a peer that leaves loses its slot at the next rechoke', () => {
  const clock = new ManualClock()
  const slots = new UploadSlots({ slots: 1, rng: () => 0 }, clock.now)
  const a = peer('a', true, 1000)
  const b = peer('b', true, 10)
  slots.rechoke([a, b], false)
  assert.equal(a.wire.amChoking, false)
  clock.advance(10_001)
  const c = peer('c', true, 5000)
  slots.rechoke([b, c], false)
  assert.equal(c.wire.amChoking, false)
})

test('upload slots: bad option values fall back to the defaults instead of throwing', () => {
  const slots = UploadSlots.of({ uploadSlots: -1, rechokeInterval: 0, optimisticInterval: Number.NaN }, new ManualClock().now)
  const peers = [peer('a', true, 1), peer('b', true, 2)]
  slots.rechoke(peers, false)
  assert.equal(peers.filter((p) => !p.wire.amChoking).length, 2, 'default slots (4) take both')
})
