import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PendingIo } from '../../../lib/engine/torrent/pending-io.ts'

test('pending io: idle waits for every tracked operation, failed ones included, and for IO their handlers start', async () => {
  const io = new PendingIo()
  assert.equal(io.count, 0)
  await io.idle() // nothing in flight: resolves at once
  let finishWrite!: () => void
  const write = new Promise<void>((r) => (finishWrite = r))
  let hashed = false
  io.track(write).then(() => io.track(Promise.resolve()).then(() => (hashed = true)))
  io.track(Promise.reject(new Error('x'))).catch(() => {})
  assert.equal(io.count, 2)
  const idle = io.idle()
  finishWrite()
  await idle
  assert.equal(hashed, true, 'the hash a write started was waited for')
  assert.equal(io.count, 0)
})
