/** The idle-peer rule (lib/engine/policy/idle.ts), on its own: pure, so checked over generated states. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { idleVerdict, PEER_IDLE_TIMEOUT } from '../../../lib/engine/policy/idle.ts'

test('the default idle timeout is Mainline\'s 5 minutes', () => {
  assert.equal(PEER_IDLE_TIMEOUT, 300_000)
  assert.equal(idleVerdict({ amInterested: false, peerInterested: false, lastUsefulAt: 0 }, 300_000, PEER_IDLE_TIMEOUT), 'quiet')
  assert.equal(idleVerdict({ amInterested: false, peerInterested: false, lastUsefulAt: 0 }, 300_001, PEER_IDLE_TIMEOUT), 'idle')
})

test('busy whenever either side is interested; otherwise idle exactly past the timeout', () => {
  fc.assert(fc.property(fc.boolean(), fc.boolean(), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 1e7 }), (am, peer, last, dt, timeout) => {
    const v = idleVerdict({ amInterested: am, peerInterested: peer, lastUsefulAt: last }, last + dt, timeout)
    if (am || peer) assert.equal(v, 'busy')
    else assert.equal(v, dt > timeout ? 'idle' : 'quiet')
  }))
})
