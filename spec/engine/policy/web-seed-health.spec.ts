import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WebSeedHealth } from '../../../lib/engine/policy/web-seed-health.ts'

test('failures rest the seed for a doubling time, capped; a success resets it', () => {
  const h = new WebSeedHealth({ baseMs: 1000, maxMs: 5000 })
  const t0 = 1_000_000
  assert.equal(h.ready(t0), true)
  h.failed({ kind: 'short' }, t0)
  assert.equal(h.ready(t0 + 999), false)
  assert.equal(h.ready(t0 + 1000), true)
  h.failed({ kind: 'missing' }, t0)
  assert.equal(h.restingUntil, t0 + 2000)
  h.failed({ kind: 'network' }, t0)
  h.failed({ kind: 'network' }, t0)
  assert.equal(h.restingUntil, t0 + 5000) // 8000 capped at 5000
  assert.equal(h.consecutiveFailures, 4)
  h.succeeded()
  assert.equal(h.ready(t0), true)
  assert.equal(h.consecutiveFailures, 0)
})

test('Retry-After lengthens a rest, never beyond the cap; an abort is not a failure', () => {
  const h = new WebSeedHealth({ baseMs: 1000, maxMs: 60_000 })
  h.failed({ kind: 'busy', retryAfterMs: 30_000 }, 0)
  assert.equal(h.restingUntil, 30_000)
  h.failed({ kind: 'busy', retryAfterMs: 10 ** 9 }, 0)
  assert.equal(h.restingUntil, 60_000)
  const a = new WebSeedHealth()
  a.failed({ kind: 'aborted' }, 0)
  assert.equal(a.consecutiveFailures, 0)
  assert.equal(a.ready(0), true)
})

test('bad data or an unsafe URL drops the seed for good', () => {
  const h = new WebSeedHealth()
  h.badData()
  assert.equal(h.ready(Number.MAX_SAFE_INTEGER), false)
  assert.match(h.dropped ?? '', /failed the hash check/)
  const lenient = new WebSeedHealth({ maxBadPieces: 2 })
  lenient.badData()
  assert.equal(lenient.dropped, null)
  lenient.badData()
  assert.notEqual(lenient.dropped, null)
  const refused = new WebSeedHealth()
  refused.failed({ kind: 'refused' }, 0)
  assert.match(refused.dropped ?? '', /cannot be built safely/)
})
