import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile, mkdir, truncate, open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { checkExisting, type CheckedTorrent } from '../../../lib/engine/disk/checker.ts'
import { openFileStorage } from '../../../lib/engine/disk/file-storage.ts'
import { createHasher } from '../../../lib/engine/disk/hasher.ts'
import type { FileEntry, Storage } from '../../../lib/engine/contracts.ts'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'

const PL = 1000 // piece length: files cross piece boundaries at odd places

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-check-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Writes a data set and returns its torrent description. */
async function dataSet(folder: string, specs: Array<{ name: string; length: number; pad?: boolean }>, pieceLength = PL) {
  let offset = 0
  const files: FileEntry[] = []
  const parts: Uint8Array[] = []
  for (const s of specs) {
    const data = s.pad ? new Uint8Array(s.length) : new Uint8Array(randomBytes(s.length))
    files.push({ path: [s.name], length: s.length, offset, pad: s.pad ?? false })
    if (!s.pad) await writeFile(path.join(folder, s.name), data)
    parts.push(data)
    offset += s.length
  }
  const all = Buffer.concat(parts)
  const pieceCount = Math.ceil(all.length / pieceLength)
  const pieceHashes = new Uint8Array(pieceCount * 20)
  for (let p = 0; p < pieceCount; p++) pieceHashes.set(createHash('sha1').update(all.subarray(p * pieceLength, (p + 1) * pieceLength)).digest(), p * 20)
  const torrent: CheckedTorrent = { pieceCount, pieceLength, length: all.length, pieceHashes, files }
  return torrent
}

// a.bin: bytes 0..4499 (pieces 0-4), b.bin: 4500..4999 (piece 4), c.bin: 5000..9299 (pieces 5-9)
const SPECS = [
  { name: 'a.bin', length: 4500 },
  { name: 'b.bin', length: 500 },
  { name: 'c.bin', length: 4300 },
]

const missing = (bits: { length: number; get(i: number): boolean }) => Array.from({ length: bits.length }, (_, i) => i).filter((i) => !bits.get(i))

for (const workers of [0, 2]) {
  test(`complete data set: every piece verified (${workers} workers)`, async (t) => {
    const folder = await tempDir(t)
    const torrent = await dataSet(folder, SPECS)
    const storage = await openFileStorage(folder, torrent.files, { readonly: true })
    const hasher = createHasher({ workers })
    t.after(async () => {
      await storage.close()
      await hasher.close()
    })
    const have = await checkExisting(storage, torrent, hasher, undefined, undefined, { chunkSize: 2500 })
    assert.equal(have.count(), 10)
    assert.equal(have.all(), true)
  })

  test(`one corrupted byte and one truncated file: exactly the affected pieces missing (${workers} workers)`, async (t) => {
    const folder = await tempDir(t)
    const torrent = await dataSet(folder, SPECS)
    // corrupt a.bin byte 2345 (piece 2)
    const fh = await open(path.join(folder, 'a.bin'), 'r+')
    const one = new Uint8Array(1)
    await fh.read(one, 0, 1, 2345)
    one[0]! ^= 0xff
    await fh.write(one, 0, 1, 2345)
    await fh.close()
    // truncate c.bin to 2100 bytes: torrent bytes 7100.. lost (pieces 7, 8, 9)
    await truncate(path.join(folder, 'c.bin'), 2100)
    const storage = await openFileStorage(folder, torrent.files, { readonly: true })
    const hasher = createHasher({ workers })
    t.after(async () => {
      await storage.close()
      await hasher.close()
    })
    const have = await checkExisting(storage, torrent, hasher, undefined, undefined, { chunkSize: 3000 })
    assert.deepEqual(missing(have), [2, 7, 8, 9])
  })
}

test('a missing file: its pieces are missing and never read', async (t) => {
  const folder = await tempDir(t)
  const torrent = await dataSet(folder, SPECS)
  await rm(path.join(folder, 'b.bin'))
  const inner = await openFileStorage(folder, torrent.files, { readonly: true })
  const reads: Array<[number, number]> = []
  const storage: Storage = { ...inner, stat: () => inner.stat(), close: () => inner.close(), write: inner.write.bind(inner), read: (o, n) => (reads.push([o, n]), inner.read(o, n)) }
  const hasher = createHasher({ workers: 1 })
  t.after(async () => {
    await storage.close()
    await hasher.close()
  })
  const have = await checkExisting(storage, torrent, hasher)
  assert.deepEqual(missing(have), [4])
  assert.ok(reads.every(([o, n]) => o + n <= 4000 || o >= 5000), `piece 4 was read: ${JSON.stringify(reads)}`)
})

test('an empty folder: nothing verified, nothing read', async (t) => {
  const folder = await tempDir(t)
  const torrent = await dataSet(folder, SPECS)
  const empty = await tempDir(t)
  const storage = await openFileStorage(empty, torrent.files, { readonly: true })
  const hasher = createHasher({ workers: 0 })
  t.after(() => storage.close())
  const calls: number[] = []
  const have = await checkExisting(storage, torrent, hasher, (d) => calls.push(d))
  assert.equal(have.count(), 0)
  assert.deepEqual(calls.at(-1), 10)
})

test('pad files and pieces longer than a read chunk', async (t) => {
  const folder = await tempDir(t)
  const torrent = await dataSet(folder, [
    { name: 'x.bin', length: 7000 },
    { name: 'pad', length: 1000, pad: true },
    { name: 'y.bin', length: 12345 },
  ], 4000)
  const storage = await openFileStorage(folder, torrent.files, { readonly: true })
  const hasher = createHasher({ workers: 2 })
  t.after(async () => {
    await storage.close()
    await hasher.close()
  })
  const have = await checkExisting(storage, torrent, hasher, undefined, undefined, { chunkSize: 1500 })
  assert.equal(torrent.pieceCount, 6)
  assert.equal(have.all(), true)
})

test('progress is monotone and ends at (total, total)', async (t) => {
  const folder = await tempDir(t)
  await mkdir(folder, { recursive: true })
  const torrent = await dataSet(folder, SPECS)
  await rm(path.join(folder, 'b.bin'))
  const storage = await openFileStorage(folder, torrent.files, { readonly: true })
  const hasher = createHasher({ workers: 2 })
  t.after(async () => {
    await storage.close()
    await hasher.close()
  })
  const calls: Array<[number, number]> = []
  await checkExisting(storage, torrent, hasher, (d, n) => calls.push([d, n]), undefined, { chunkSize: 1000, inFlight: 3 })
  assert.ok(calls.length >= 5)
  assert.deepEqual(calls[0], [0, 10])
  assert.deepEqual(calls.at(-1), [10, 10])
  for (let i = 1; i < calls.length; i++) {
    assert.ok(calls[i]![0] >= calls[i - 1]![0], `not monotone: ${JSON.stringify(calls)}`)
    assert.equal(calls[i]![1], 10)
  }
})

test('abort via signal: before start and midway', async (t) => {
  const folder = await tempDir(t)
  const torrent = await dataSet(folder, SPECS)
  const storage = await openFileStorage(folder, torrent.files, { readonly: true })
  const hasher = createHasher({ workers: 1 })
  t.after(async () => {
    await storage.close()
    await hasher.close()
  })
  await assert.rejects(checkExisting(storage, torrent, hasher, undefined, AbortSignal.abort()), { name: 'AbortError' })
  const ac = new AbortController()
  let last = 0
  await assert.rejects(
    checkExisting(storage, torrent, hasher, (d) => {
      last = d
      if (d >= 2) ac.abort()
    }, ac.signal, { chunkSize: 1000, inFlight: 1 }),
    { name: 'AbortError' },
  )
  assert.ok(last < 10, `checked everything despite abort (${last})`)
})

test('mismatched piece hashes length is refused', async (t) => {
  const folder = await tempDir(t)
  const torrent = await dataSet(folder, SPECS)
  const storage = await openFileStorage(folder, torrent.files, { readonly: true })
  t.after(() => storage.close())
  await assert.rejects(checkExisting(storage, { ...torrent, pieceHashes: new Uint8Array(20) }, createHasher({ workers: 0 })), /piece hashes/)
})

test('only: checks just the given pieces', async (t) => {
  const folder = await tempDir(t)
  const torrent = await dataSet(folder, SPECS)
  const inner = await openFileStorage(folder, torrent.files, { readonly: true })
  let bytesRead = 0
  const storage: Storage = { stat: () => inner.stat(), close: () => inner.close(), write: inner.write.bind(inner), read: (o, n) => ((bytesRead += n), inner.read(o, n)) }
  const hasher = createHasher({ workers: 0 })
  t.after(() => storage.close())
  const only = new Bitfield(10)
  only.set(3)
  only.set(8)
  const have = await checkExisting(storage, torrent, hasher, undefined, undefined, { only })
  assert.deepEqual([...have.setIndices()], [3, 8])
  assert.equal(bytesRead, 2000)
  await assert.rejects(checkExisting(storage, torrent, hasher, undefined, undefined, { only: new Bitfield(3) }), RangeError)
})
