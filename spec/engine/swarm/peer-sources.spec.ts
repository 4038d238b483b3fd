import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { PeerSources, PEER_SOURCES, type PeerSource } from '../../../lib/engine/swarm/peer-sources.ts'
import type { TorrentStats } from '../../../lib/messages.ts'

test('peer-sources: counts connected peers under the first source they were learnt from', () => {
  const s = new PeerSources()
  s.learnt('1.1.1.1:1', 'tracker')
  s.learnt('1.1.1.1:1', 'dht') // heard again: still a tracker peer
  s.learnt('2.2.2.2:2', 'pex')
  s.connected('1.1.1.1:1')
  s.connected('2.2.2.2:2')
  s.connected('3.3.3.3:3', 'incoming')
  s.connected('4.4.4.4:4') // never learnt: given by hand
  s.connected('4.4.4.4:4')
  const snap: NonNullable<TorrentStats['peerSources']> = s.snapshot()
  assert.deepEqual(snap, { tracker: 1, dht: 0, pex: 1, manual: 1, incoming: 1, lsd: 0 })
  s.disconnected('1.1.1.1:1'); s.disconnected('1.1.1.1:1')
  assert.equal(s.snapshot().tracker, 0)
  assert.equal(s.size, 3)
  assert.equal(s.sourceOf('2.2.2.2:2'), 'pex')
})

test('peer-sources: the sum of the counts is the number of connected peers (model)', () => {
  const addr = fc.integer({ min: 0, max: 20 }).map(i => `10.0.0.${i}:6881`)
  const src = fc.constantFrom(...PEER_SOURCES)
  const op = fc.oneof(
    fc.record({ k: fc.constant('learnt' as const), addr, src }),
    fc.record({ k: fc.constant('connected' as const), addr, src: fc.option(src, { nil: undefined }) }),
    fc.record({ k: fc.constant('disconnected' as const), addr })
  )
  fc.assert(fc.property(fc.array(op, { maxLength: 200 }), ops => {
    const s = new PeerSources(8)
    const live = new Set<string>()
    for (const o of ops) {
      if (o.k === 'learnt') s.learnt(o.addr, o.src)
      else if (o.k === 'connected') { s.connected(o.addr, o.src as PeerSource | undefined); live.add(o.addr) } else { s.disconnected(o.addr); live.delete(o.addr) }
    }
    const total = Object.values(s.snapshot()).reduce((a, b) => a + b, 0)
    assert.equal(total, live.size)
    assert.equal(s.size, live.size)
  }))
})
