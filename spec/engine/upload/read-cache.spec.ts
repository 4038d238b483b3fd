import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ReadCache } from '../../../lib/engine/upload/read-cache.ts'

/** A torrent's bytes (byte i = i mod 251) behind a reader that logs every read. */
const source = (total: number) => {
  const data = new Uint8Array(total).map((_, i) => i % 251)
  const reads: [number, number][] = []
  let failNext = false
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    reads.push([offset, length])
    if (failNext) {
      failNext = false
      throw new Error('disk error')
    }
    return data.slice(offset, offset + length)
  }
  return { data, reads, read, failOnce: () => (failNext = true) }
}

test('blocks of one span come from one read, with the right bytes', async () => {
  const s = source(4 * 65536)
  const cache = new ReadCache(s.read, 65536, s.data.length, 32768, 4)
  for (let off = 0; off < 32768; off += 16384) {
    const got = await cache.read(1, off, 16384)
    assert.deepEqual(got, s.data.subarray(65536 + off, 65536 + off + 16384))
  }
  assert.deepEqual(s.reads, [[65536, 32768]])
  await cache.read(1, 32768, 16384)
  assert.deepEqual(s.reads, [[65536, 32768], [98304, 32768]])
})

test('spans stop at the piece end (short last piece) and never cross pieces', async () => {
  const s = source(65536 + 20000)
  const cache = new ReadCache(s.read, 65536, s.data.length, 65536, 4)
  const got = await cache.read(1, 16384, 20000 - 16384)
  assert.deepEqual(got, s.data.subarray(65536 + 16384))
  assert.deepEqual(s.reads, [[65536, 20000]])
})

test('a block straddling two spans is read alone; the LRU keeps at most maxSpans', async () => {
  const s = source(8 * 32768)
  const cache = new ReadCache(s.read, 32768, s.data.length, 16384, 2)
  assert.deepEqual(await cache.read(0, 8192, 16384), s.data.subarray(8192, 8192 + 16384))
  assert.deepEqual(s.reads, [[8192, 16384]])
  for (const p of [0, 1, 2, 0]) await cache.read(p, 0, 100)
  // piece 0's span was evicted by 1 and 2 (two spans kept), so it is read again
  assert.deepEqual(s.reads.slice(1), [[0, 16384], [32768, 16384], [65536, 16384], [0, 16384]])
})

test('a failed read is not cached', async () => {
  const s = source(65536)
  const cache = new ReadCache(s.read, 65536, s.data.length)
  s.failOnce()
  await assert.rejects(cache.read(0, 0, 16384), /disk error/)
  assert.deepEqual(await cache.read(0, 0, 16384), s.data.subarray(0, 16384))
  assert.equal(s.reads.length, 2)
})

test('span buffers are reused only after the span left the cache and every lease is released', async () => {
  const s = source(8 * 16384)
  const targets: Uint8Array[] = []
  const into = async (offset: number, target: Uint8Array): Promise<void> => {
    targets.push(target)
    target.set(s.data.subarray(offset, offset + target.length))
  }
  const cache = new ReadCache(s.read, 16384, s.data.length, 16384, 1, into)
  const a = await cache.lease(0, 0, 16384)
  const kept = await cache.lease(0, 0, 100) // a second lease of span 0, never released
  const b = await cache.lease(1, 0, 16384) // evicts span 0 (one span kept)
  a.release()
  await new Promise((r) => setImmediate(r))
  await cache.lease(2, 0, 16384) // span 0 still has a lease: no reuse
  assert.notEqual(targets[2]!.buffer, targets[0]!.buffer)
  assert.deepEqual(Uint8Array.from(kept.data), s.data.subarray(0, 100), 'an unreleased lease keeps its bytes')
  b.release() // span 1 was evicted by span 2: now free
  await new Promise((r) => setImmediate(r))
  const d = await cache.lease(3, 0, 16384)
  assert.equal(targets[3]!.buffer, targets[1]!.buffer, 'span 1 buffer recycled')
  assert.deepEqual(Uint8Array.from(d.data), s.data.subarray(3 * 16384, 4 * 16384))
  assert.deepEqual(Uint8Array.from(kept.data), s.data.subarray(0, 100))
})
