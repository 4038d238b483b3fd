import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import fc from 'fast-check'
import { openFileStorage } from '../../../lib/engine/disk/file-storage.ts'
import { createPieceReader, PieceWaiters, type PieceSource } from '../../../lib/engine/disk/piece-reader.ts'

const PIECE = 16384

/** Real storage, pieces "verified" by writing them and telling the waiters. */
async function fixture(t: { after(fn: () => unknown): void }, pieces = 20) {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-reader-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const total = pieces * PIECE - 123
  const data = new Uint8Array(randomBytes(total))
  const storage = await openFileStorage(dir, [{ path: ['f.bin'], length: total, offset: 0, pad: false }])
  t.after(() => storage.close())
  const have = new Set<number>()
  const waiters = new PieceWaiters()
  const reads: number[] = []
  const positions = new Map<string, number | null>()
  const source: PieceSource = {
    pieceLength: PIECE,
    has: (p) => have.has(p),
    waitFor: (p, signal) => waiters.waitFor(p, signal),
    read: (o, n) => {
      for (let p = Math.floor(o / PIECE); p <= Math.floor((o + n - 1) / PIECE); p++) assert.ok(have.has(p), `read of unverified piece ${p}`)
      reads.push(o)
      return storage.read(o, n)
    },
    position: (id, pos) => positions.set(id, pos),
  }
  const verify = async (p: number) => {
    await storage.write(p * PIECE, data.subarray(p * PIECE, Math.min(total, (p + 1) * PIECE)))
    have.add(p)
    waiters.verified(p)
  }
  return { data, total, source, verify, waiters, reads, positions, pieces }
}

async function drain(r: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of r) parts.push(c)
  return new Uint8Array(Buffer.concat(parts))
}

test('property: bytes of any range come out as their pieces verify, in any order, equal to the source', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: 20 * PIECE - 200 }), fc.integer({ min: 0, max: 5 * PIECE }), fc.integer({ min: 1, max: 1000 }), async (start, n, seed) => {
      const f = await fixture(t)
      const end = Math.min(f.total, start + n)
      const reader = createPieceReader(f.source, { start, end, chunkSize: 5000 })
      const out = drain(reader)
      const order = [...Array(f.pieces).keys()].sort((a, b) => ((a * seed) % 7) - ((b * seed) % 7) || a - b)
      for (const p of order) await f.verify(p)
      assert.deepEqual(await out, f.data.subarray(start, end))
    }),
    { numRuns: 25 },
  )
})

test('back-pressure: a consumer that reads nothing holds the reader at its buffer', async (t) => {
  const f = await fixture(t)
  for (let p = 0; p < f.pieces; p++) await f.verify(p)
  const reader = createPieceReader(f.source, { start: 0, end: f.total, chunkSize: PIECE, highWaterMark: PIECE })
  reader.pause()
  await once(reader, 'readable')
  await new Promise((r) => setTimeout(r, 200))
  assert.ok(f.reads.length <= 2, `read ${f.reads.length} chunks with nobody consuming`)
  assert.deepEqual(await drain(reader), f.data)
  assert.equal(f.reads.length, f.pieces)
})

test('a reader destroyed while waiting leaves no waiter and reports it stopped', async (t) => {
  const f = await fixture(t)
  const reader = createPieceReader(f.source, { start: 0, end: f.total, id: 'r1' })
  reader.resume()
  await new Promise((r) => setImmediate(r))
  assert.equal(f.waiters.size(), 1)
  assert.equal(f.positions.get('r1'), 0)
  reader.destroy()
  await once(reader, 'close')
  assert.equal(f.waiters.size(), 0)
  assert.equal(f.positions.get('r1'), null)
})

test('the torrent stopping ends readers with an error that says why', async (t) => {
  const f = await fixture(t)
  await f.verify(0)
  const reader = createPieceReader(f.source, { start: 0, end: f.total })
  const out = drain(reader)
  await new Promise((r) => setTimeout(r, 50))
  f.waiters.stop('torrent closed by its owner')
  await assert.rejects(out, /torrent closed by its owner/)
  await assert.rejects(f.waiters.waitFor(3), /torrent closed by its owner/)
})

test('the read position is reported as the reader moves, and is dropped at the end', async (t) => {
  const f = await fixture(t, 3)
  for (let p = 0; p < 3; p++) await f.verify(p)
  const seen: Array<number | null> = []
  const reader = createPieceReader({ ...f.source, position: (_id, pos) => seen.push(pos) }, { start: 100, end: 2 * PIECE + 10 })
  assert.deepEqual(await drain(reader), f.data.subarray(100, 2 * PIECE + 10))
  assert.deepEqual(seen, [100, PIECE, 2 * PIECE, 2 * PIECE + 10, null])
})

test('50 concurrent readers of one range all get the bytes', async (t) => {
  const f = await fixture(t)
  const outs = Array.from({ length: 50 }, (_, i) => drain(createPieceReader(f.source, { start: i * 1000, end: f.total })))
  for (let p = f.pieces - 1; p >= 0; p--) await f.verify(p)
  const got = await Promise.all(outs)
  got.forEach((g, i) => assert.deepEqual(g, f.data.subarray(i * 1000)))
  assert.equal(f.waiters.size(), 0)
})

test('bad ranges are refused; an empty range ends at once', async (t) => {
  const f = await fixture(t, 1)
  assert.throws(() => createPieceReader(f.source, { start: 10, end: 5 }), /bad range 10..5/)
  assert.throws(() => createPieceReader(f.source, { start: -1, end: 5 }), /bad range/)
  assert.equal((await drain(createPieceReader(f.source, { start: 5, end: 5 }))).length, 0)
})
