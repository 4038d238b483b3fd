import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { runEffects, tap } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import { openFileStorage } from '../../../lib/engine/disk/file-storage.ts'
import { TorrentStreams, type RangeReadable } from '../../../lib/engine/stream/torrent-streams.ts'
import type { FileEntry } from '../../../lib/engine/contracts.ts'

const PIECE = 16384
function layout(specs: Array<{ path: string[]; length: number; pad?: boolean }>): FileEntry[] {
  let offset = 0
  return specs.map((s) => {
    const f = { path: s.path, length: s.length, offset, pad: s.pad ?? false }
    offset += s.length
    return f
  })
}
const FILES = layout([
  { path: ['album', 'a.webm'], length: 3 * PIECE + 100 },
  { path: ['album', '.pad', '1'], length: PIECE - 100, pad: true },
  { path: ['album', 'sub', 'b.txt'], length: 2 * PIECE },
  { path: ['album', 'other', 'b.txt'], length: 500 },
])
const TOTAL = FILES.reduce((n, f) => n + f.length, 0)
const PIECES = Math.ceil(TOTAL / PIECE)

async function fixture(t: { after(fn: () => unknown): void }) {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-streams-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const data = new Uint8Array(randomBytes(TOTAL))
  data.fill(0, FILES[1]!.offset, FILES[1]!.offset + FILES[1]!.length)
  const storage = await openFileStorage(dir, FILES)
  t.after(() => storage.close())
  const have = new Set<number>()
  const reads: number[] = []
  let clock = 0
  let changes = 0
  const streams = new TorrentStreams({
    files: FILES,
    pieceLength: PIECE,
    pieceCount: PIECES,
    has: (p) => have.has(p),
    read: (o, n) => {
      reads.push(o)
      return storage.read(o, n)
    },
    now: () => clock,
    changed: () => changes++,
  })
  /** Piece `p` verified and written; `take` offers its buffer as the assembly does. */
  const verify = async (p: number, take?: () => Uint8Array | null) => {
    await storage.write(p * PIECE, data.subarray(p * PIECE, Math.min(TOTAL, (p + 1) * PIECE)))
    have.add(p)
    streams.verified(p, take)
  }
  return { streams, verify, data, have, reads, tick: (ms: number) => (clock += ms), changes: () => changes }
}
const drain = async (r: AsyncIterable<Uint8Array>) => {
  const parts: Uint8Array[] = []
  for await (const c of r) parts.push(c)
  return new Uint8Array(Buffer.concat(parts))
}

test('files are numbered without pad files and found by index or name; bad ones are refused with what exists', async (t) => {
  const { streams } = await fixture(t)
  assert.deepEqual(streams.files().map((f) => [f.index, f.name]), [[0, 'album/a.webm'], [1, 'album/sub/b.txt'], [2, 'album/other/b.txt']])
  assert.equal(streams.resolve('1').name, 'album/sub/b.txt')
  assert.equal(streams.resolve('a.webm').index, 0)
  assert.equal(streams.resolve('sub/b.txt').index, 1)
  assert.throws(() => streams.resolve(3), /no file #3: the torrent has 3 \(numbered from 0\)/)
  assert.throws(() => streams.resolve('b.txt'), /ambiguous: #1 album\/sub\/b.txt, #2 album\/other\/b.txt/)
  assert.throws(() => streams.resolve('c.mp4'), /no file named "c.mp4"; the torrent has album\/a.webm/)
  assert.throws(() => streams.createReadStream(2, { start: 501 }), /bad start 501/)
  assert.throws(() => streams.createReadStream(2, { end: 500 }), /bad end 500/)
})

test('a read stream yields a file range as its pieces verify; the window follows it and goes when it ends', async (t) => {
  const f = await fixture(t)
  const file = f.streams.files()[1]! // starts at piece 4
  const r = f.streams.createReadStream(1, { start: 10, end: 2 * PIECE - 1 })
  const out = drain(r)
  await new Promise((res) => setImmediate(res))
  assert.deepEqual(f.streams.critical(0).map((d) => d.piece), [4, 5])
  assert.ok(f.changes() > 0)
  for (let p = PIECES - 1; p >= 0; p--) await f.verify(p)
  assert.deepEqual(await out, f.data.subarray(file.offset + 10, file.offset + 2 * PIECE))
  if (!r.closed) await once(r, 'close')
  assert.deepEqual(f.streams.critical(1e6), [])
  assert.equal(f.streams.readers(), 0)
  assert.equal(f.streams.active(), false)
})

test('a destroyed reader leaves no waiter and no window', async (t) => {
  const f = await fixture(t)
  const r = f.streams.createReadStream('a.webm')
  r.resume()
  await new Promise((res) => setImmediate(res))
  assert.equal(f.streams.waiting(), 1)
  assert.equal(f.streams.active(), true)
  r.destroy()
  await once(r, 'close')
  assert.equal(f.streams.waiting(), 0)
  assert.equal(f.streams.active(), false)
  assert.equal(f.streams.readers(), 0)
})

test('the torrent stopping ends readers and the readable events, saying why; no reader opens after', async (t) => {
  const f = await fixture(t)
  const events: RangeReadable[] = []
  const done = runEffects(tap((e: RangeReadable) => events.push(e), f.streams.readable()), newDefaultScheduler())
  const r = f.streams.createReadStream(0)
  const out = drain(r)
  await f.verify(0)
  await f.verify(3) // the end of a.webm, the pad, and the start of nothing else
  f.streams.stop('torrent closed by its owner')
  await assert.rejects(out, /torrent closed by its owner/)
  await done
  assert.deepEqual(events, [
    { file: 0, start: 0, end: PIECE },
    { file: 0, start: 3 * PIECE, end: 3 * PIECE + 100 },
  ])
  assert.throws(() => f.streams.createReadStream(0), /torrent closed by its owner/)
  assert.equal(f.streams.readers(), 0)
})

test('50 concurrent readers of one file', async (t) => {
  const f = await fixture(t)
  const outs = Array.from({ length: 50 }, (_, i) => drain(f.streams.createReadStream(0, { start: i * 900 })))
  for (let p = 0; p < PIECES; p++) await f.verify(p)
  const got = await Promise.all(outs)
  got.forEach((g, i) => assert.deepEqual(g, f.data.subarray(i * 900, FILES[0]!.length)))
  assert.equal(f.streams.readers(), 0)
  assert.equal(f.streams.waiting(), 0)
})

test('file progress counts the verified bytes of each file; the HTTP adapter serves the files by range', async (t) => {
  const f = await fixture(t)
  await f.verify(0)
  await f.verify(4)
  const [a, b, c] = f.streams.fileProgress()
  assert.equal(a, PIECE / FILES[0]!.length)
  assert.equal(b, 0.5)
  assert.equal(c, 0)
  const { servedTorrent } = await import('../../../lib/stream/serve-torrent.ts')
  const served = servedTorrent('t', 'album', f.streams)
  assert.deepEqual(served.files().map((x) => x.name), ['album/a.webm', 'album/sub/b.txt', 'album/other/b.txt'])
  const total = FILES[0]!.length + FILES[2]!.length + FILES[3]!.length
  assert.equal(served.progress().fractionDone, (PIECE + PIECE) / total)
  const part = drain(served.createReadStream(1, { start: 5, end: 105 }))
  assert.deepEqual(await part, f.data.subarray(FILES[2]!.offset + 5, FILES[2]!.offset + 105))
})

test('a piece a reader waits on is read from the buffer it verified in, not from storage; pieces outside every window, and pieces read past, are not kept', async (t) => {
  const f = await fixture(t)
  const r = f.streams.createReadStream(0) // pieces 0..3
  const chunks: Uint8Array[] = []
  r.on('data', (c: Uint8Array) => chunks.push(c))
  const ended = once(r, 'end')
  await new Promise((res) => setImmediate(res))
  f.streams.critical(0) // a plan: the window is two pieces at no rate (0 and 1)
  // piece 0 verifies with its buffer offered: the reader takes it, storage is not read
  const buf0 = Buffer.from(f.data.subarray(0, PIECE))
  let offered = 0
  await f.verify(0, () => (offered++, buf0))
  assert.equal(offered, 1)
  // a piece no window covers is not taken
  let farOffered = 0
  await f.verify(5, () => (farOffered++, Buffer.from(f.data.subarray(5 * PIECE, 6 * PIECE))))
  assert.equal(farOffered, 0, 'piece 5 is in no window: its buffer is left to the assembly')
  // pieces 1..3 verified without a buffer: read from storage
  for (const p of [1, 2, 3]) await f.verify(p)
  await ended
  assert.equal(chunks[0]!.buffer, buf0.buffer, 'the first chunk is a view of the verified buffer (no copy)')
  assert.deepEqual(new Uint8Array(Buffer.concat(chunks)), f.data.subarray(0, FILES[0]!.length))
  assert.deepEqual(f.reads.map((o) => Math.floor(o / PIECE)).sort(), [1, 2, 3], 'piece 0 never read back from storage')
  assert.equal(f.streams.held(), 0, 'nothing kept once the reader passed it')
})

test('a taken piece is let go when the torrent stops; a buffer refused (null) falls back to storage', async (t) => {
  const f = await fixture(t)
  const r = f.streams.createReadStream(1) // pieces 4..5
  const out = drain(r)
  await new Promise((res) => setImmediate(res))
  await f.verify(5, () => Buffer.from(f.data.subarray(5 * PIECE, 6 * PIECE)))
  assert.equal(f.streams.held(), 1, 'piece 5 is in the window: kept for the reader')
  await f.verify(4, () => null)
  assert.deepEqual(await out, f.data.subarray(FILES[2]!.offset, FILES[2]!.offset + FILES[2]!.length))
  const r2 = f.streams.createReadStream(0) // not read from: it stays at piece 0
  r2.on('error', () => {})
  await f.verify(0, () => Buffer.from(f.data.subarray(0, PIECE)))
  assert.equal(f.streams.held(), 1)
  f.streams.stop('torrent closed')
  assert.equal(f.streams.held(), 0)
})
