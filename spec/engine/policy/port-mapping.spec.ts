/** When port mappings are renewed or retried (lib/engine/policy/port-mapping.ts): pure, checked over generated histories. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { afterAttempt, defaultMappingPolicy, nextAttempt, retryDelay, type LeaseState } from '../../../lib/engine/policy/port-mapping.ts'

test('a lease is renewed at half its lifetime, never sooner than a minute after the grant', () => {
  assert.equal(nextAttempt({ kind: 'granted', at: 1000, lifetime: 3600 }), 1000 + 1_800_000)
  assert.equal(nextAttempt({ kind: 'granted', at: 1000, lifetime: 10 }), 1000 + 60_000)
  assert.equal(nextAttempt({ kind: 'granted', at: 1000, lifetime: 7200 }, { ...defaultMappingPolicy, minRefresh: 0 }), 1000 + 3_600_000)
})

test('a permanent lease (lifetime 0) is never renewed', () => {
  assert.equal(nextAttempt({ kind: 'granted', at: 5, lifetime: 0 }), null)
})

test('failures back off from 30 s, doubling, to at most 30 minutes', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelay(n)), [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000, 1_800_000])
  assert.equal(retryDelay(10_000), 1_800_000)
  assert.equal(nextAttempt({ kind: 'failed', at: 100, failures: 2 }), 100 + 60_000)
})

test('afterAttempt counts failures in a row and a grant resets them', () => {
  let s: LeaseState | undefined
  s = afterAttempt(s, 0, null)
  s = afterAttempt(s, 30_000, null)
  assert.deepEqual(s, { kind: 'failed', at: 30_000, failures: 2 })
  s = afterAttempt(s, 90_000, 3600)
  assert.deepEqual(s, { kind: 'granted', at: 90_000, lifetime: 3600 })
  s = afterAttempt(s, 2_000_000, null)
  assert.deepEqual(s, { kind: 'failed', at: 2_000_000, failures: 1 })
})

test('over any history the next attempt is after the last one, and waits grow with failures up to the cap', () => {
  fc.assert(
    fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 86_400 }), { nil: null }), { minLength: 1, maxLength: 30 }), (outcomes) => {
      let s: LeaseState | undefined
      let t = 0
      let prevWait = 0
      for (const lifetime of outcomes) {
        const before = s
        s = afterAttempt(s, t, lifetime)
        const next = nextAttempt(s)
        if (lifetime === 0) {
          assert.equal(next, null)
          t += 1000
          continue
        }
        assert.ok(next !== null && next > t)
        const wait = next - t
        if (lifetime === null) {
          assert.ok(wait <= defaultMappingPolicy.retryMax)
          if (before?.kind === 'failed') assert.ok(wait >= prevWait)
        } else assert.ok(wait >= defaultMappingPolicy.minRefresh && wait <= Math.max(defaultMappingPolicy.minRefresh, lifetime * 500))
        prevWait = wait
        t = next
      }
    })
  )
})
