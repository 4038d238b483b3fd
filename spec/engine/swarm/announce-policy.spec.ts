import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  connectionIdValid, earliestExtra, regularDelay, retryDelay, udpGiveUpAfter, udpRetransmitDelay,
  DEFAULT_INTERVAL_MS, EARLY_ANNOUNCE_FLOOR_MS, MAX_INTERVAL_MS, MIN_INTERVAL_FLOOR_MS
} from '../../../lib/engine/swarm/announce-policy.ts'

test('regular delay: the tracker\'s interval, raised to its min interval and the floor, capped at a day', () => {
  assert.equal(regularDelay({ interval: 1800 }), 1_800_000)
  assert.equal(regularDelay({}), DEFAULT_INTERVAL_MS)
  assert.equal(regularDelay({ interval: 0 }), MIN_INTERVAL_FLOOR_MS)
  assert.equal(regularDelay({ interval: 60, minInterval: 300 }), 300_000)
  assert.equal(regularDelay({ interval: 10 ** 9 }), MAX_INTERVAL_MS)
  fc.assert(fc.property(fc.option(fc.nat(0xffffffff), { nil: undefined }), fc.option(fc.nat(0xffffffff), { nil: undefined }), (interval, minInterval) => {
    const d = regularDelay({ ...(interval !== undefined && { interval }), ...(minInterval !== undefined && { minInterval }) })
    assert.ok(d >= MIN_INTERVAL_FLOOR_MS && d <= MAX_INTERVAL_MS)
    if (minInterval !== undefined) assert.ok(d >= Math.min(MAX_INTERVAL_MS, minInterval * 1000))
  }))
})

test('retry delay: doubling from the base after each failure, capped', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelay(n, 200, 800)), [200, 400, 800, 800, 800])
  assert.equal(retryDelay(1000, 5000, 300_000), 300_000)
  fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), (n) => {
    assert.ok(retryDelay(n + 1, 5000, 300_000) >= retryDelay(n, 5000, 300_000))
  }))
})

test('an extra announce waits for the min interval and the floor, and never overrides a back-off', () => {
  assert.equal(earliestExtra({ failures: 0 }, 5), 5)
  assert.equal(earliestExtra({ failures: 0, lastAt: 1000 }, 2000), 1000 + EARLY_ANNOUNCE_FLOOR_MS)
  assert.equal(earliestExtra({ failures: 0, lastAt: 1000, minIntervalMs: 60_000 }, 2000), 61_000)
  assert.equal(earliestExtra({ failures: 0, lastAt: 1000 }, 100_000), 100_000)
  assert.equal(earliestExtra({ failures: 1, lastAt: 1000 }, 100_000), null)
})

test('BEP 15: a connection id serves for one minute; retransmissions wait 15 * 2^n s, n up to 8', () => {
  assert.equal(connectionIdValid(1000, 1000), true)
  assert.equal(connectionIdValid(1000, 60_999), true)
  assert.equal(connectionIdValid(1000, 61_000), false)
  assert.equal(connectionIdValid(1000, 999), false) // a clock that went back: connect again
  assert.deepEqual([0, 1, 2, 3, 8, 9, 20].map((n) => udpRetransmitDelay(n)), [15_000, 30_000, 60_000, 120_000, 3_840_000, 3_840_000, 3_840_000])
  assert.equal(udpRetransmitDelay(2, 100), 400)
  assert.equal(udpGiveUpAfter(4), 225_000)
  assert.equal(udpGiveUpAfter(3, 100), 700)
})
