import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SLOW_SYNC_MS, SYNC_BACKOFF_MS, SyncIoGate } from '../../../lib/engine/policy/sync-io.ts'

test('writes stay synchronous while each is quick; a slow one closes the gate for the back-off, then it opens again', () => {
  let now = 1000
  const gate = new SyncIoGate(() => now)
  assert.equal(gate.allowed(), true)
  gate.took(0.05)
  gate.took(SLOW_SYNC_MS) // at the limit is still quick
  assert.equal(gate.allowed(), true)
  gate.took(SLOW_SYNC_MS + 1)
  assert.equal(gate.allowed(), false)
  now += SYNC_BACKOFF_MS - 1
  assert.equal(gate.allowed(), false)
  now += 1
  assert.equal(gate.allowed(), true)
})

test('another slow write during the back-off starts it over', () => {
  let now = 0
  const gate = new SyncIoGate(() => now, 5, 100)
  gate.took(6)
  now = 90
  gate.took(50)
  now = 150
  assert.equal(gate.allowed(), false)
  now = 190
  assert.equal(gate.allowed(), true)
})
