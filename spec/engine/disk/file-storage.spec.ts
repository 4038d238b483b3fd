import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile, readdir, writeFile, stat, mkdir, symlink } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { openFileStorage, SYNC_READ_MAX } from '../../../lib/engine/disk/file-storage.ts'
import { SLOW_SYNC_MS } from '../../../lib/engine/policy/sync-io.ts'
import type { FileEntry } from '../../../lib/engine/contracts.ts'

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-storage-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function layout(specs: Array<{ path: string[]; length: number; pad?: boolean }>): FileEntry[] {
  let offset = 0
  return specs.map((s) => {
    const f = { path: s.path, length: s.length, offset, pad: s.pad ?? false }
    offset += s.length
    return f
  })
}

const FILES = layout([
  { path: ['a.bin'], length: 1000 },
  { path: ['empty.txt'], length: 0 },
  { path: ['.pad', '24'], length: 24, pad: true },
  { path: ['sub', 'b.bin'], length: 1 },
  { path: ['sub', 'deeper', 'c.bin'], length: 3000 },
  { path: ['d.bin'], length: 17 },
])
const TOTAL = 1000 + 24 + 1 + 3000 + 17

test('writes spanning files (zero-length and pad files included) read back equal and land in the right files', async (t) => {
  const parent = await tempDir(t)
  const folder = path.join(parent, 'torrent')
  const data = new Uint8Array(randomBytes(TOTAL))
  for (let i = 1000; i < 1024; i++) data[i] = 0 // pad bytes are zeros by definition
  const s = await openFileStorage(folder, FILES)
  t.after(() => s.close())
  // write in uneven chunks, out of order
  const chunks: Array<[number, number]> = []
  for (let o = 0; o < TOTAL; o += 777) chunks.push([o, Math.min(777, TOTAL - o)])
  chunks.reverse()
  await Promise.all(chunks.map(([o, n]) => s.write(o, data.subarray(o, o + n))))
  assert.deepEqual(await s.read(0, TOTAL), data)
  assert.deepEqual(await s.read(990, 50), data.subarray(990, 1040))
  assert.deepEqual(await readFile(path.join(folder, 'a.bin')), Buffer.from(data.subarray(0, 1000)))
  assert.deepEqual(await readFile(path.join(folder, 'sub', 'b.bin')), Buffer.from(data.subarray(1024, 1025)))
  assert.deepEqual(await readFile(path.join(folder, 'sub', 'deeper', 'c.bin')), Buffer.from(data.subarray(1025, 4025)))
  assert.deepEqual(await readFile(path.join(folder, 'd.bin')), Buffer.from(data.subarray(4025)))
  assert.equal((await stat(path.join(folder, 'empty.txt'))).size, 0)
  assert.equal(existsSync(path.join(folder, '.pad')), false, 'pad files never touch the disk')
  assert.deepEqual(await readdir(parent), ['torrent'], 'nothing written beside the folder')
})

test('property: random writes read back like an in-memory model, with a tiny handle cache', async (t) => {
  const parent = await tempDir(t)
  let run = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ len: fc.integer({ min: 0, max: 50 }), pad: fc.boolean() }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.record({ at: fc.nat(), len: fc.integer({ min: 0, max: 120 }), seed: fc.nat(255) }), { maxLength: 12 }),
      async (fileSpecs, writes) => {
        const files = layout(fileSpecs.map((f, i) => ({ path: [`d${i % 3}`, `f${i}`], length: f.len, pad: f.pad })))
        const total = files.reduce((n, f) => n + f.length, 0)
        const model = new Uint8Array(total)
        const s = await openFileStorage(path.join(parent, `r${run++}`), files, { maxOpenFiles: 2 })
        try {
          for (const w of writes) {
            const at = total === 0 ? 0 : w.at % total
            const len = Math.min(w.len, total - at)
            const bytes = Uint8Array.from({ length: len }, (_, i) => (w.seed + i * 31) & 0xff)
            await s.write(at, bytes)
            // the model: pad regions stay zero
            for (let i = 0; i < len; i++) {
              const f = files.find((x) => at + i >= x.offset && at + i < x.offset + x.length)!
              if (!f.pad) model[at + i] = bytes[i]!
            }
          }
          assert.deepEqual(await s.read(0, total), model)
        } finally {
          await s.close()
        }
      },
    ),
    { numRuns: 60 },
  )
})

test('absent files and regions read as zeros; nothing is created by reads', async (t) => {
  const folder = path.join(await tempDir(t), 'x')
  const s = await openFileStorage(folder, FILES)
  t.after(() => s.close())
  assert.deepEqual(await s.read(0, TOTAL), new Uint8Array(TOTAL))
  assert.equal(existsSync(folder), false)
  await s.write(2000, Uint8Array.of(7, 8, 9))
  const back = await s.read(1990, 20)
  assert.deepEqual([...back], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0])
  // a.bin was created empty; reading it gives zeros
  assert.deepEqual(await s.read(0, 10), new Uint8Array(10))
})

test('out-of-range access rejects', async (t) => {
  const s = await openFileStorage(await tempDir(t), FILES)
  t.after(() => s.close())
  await assert.rejects(s.read(TOTAL - 1, 2), RangeError)
  await assert.rejects(s.write(-1, new Uint8Array(1)), RangeError)
})

test('a path escaping the folder is refused', async (t) => {
  const parent = await tempDir(t)
  const folder = path.join(parent, 'in')
  for (const bad of [['..', 'evil'], ['a', '..', '..', 'evil'], ['/etc', 'passwd'], ['a\\..\\..\\b'], [''], ['.'], ['x\0y'], []]) {
    await assert.rejects(openFileStorage(folder, [{ path: bad, length: 10, offset: 0, pad: false }]), /unsafe file path|escapes/, JSON.stringify(bad))
  }
  assert.deepEqual(await readdir(parent), [])
})

test('an unwritable location rejects with a clear message (ENOTDIR: works as root too)', async (t) => {
  const parent = await tempDir(t)
  const blocker = path.join(parent, 'blocker')
  await writeFile(blocker, 'i am a file')
  const s = await openFileStorage(path.join(blocker, 'torrent'), FILES)
  t.after(() => s.close())
  await assert.rejects(s.write(0, new Uint8Array(10)), (err: Error) => {
    assert.match(err.message, /not a folder writing .*blocker/)
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOTDIR')
    return true
  })
  // reads still answer zeros; storage stays usable
  assert.deepEqual(await s.read(0, 4), new Uint8Array(4))
})

test('a folder where a file is expected rejects with a clear message', async (t) => {
  const folder = await tempDir(t)
  await mkdir(path.join(folder, 'a.bin'))
  const s = await openFileStorage(folder, FILES)
  t.after(() => s.close())
  await assert.rejects(s.write(0, new Uint8Array(10)), /folder is in the way writing .*a\.bin/)
  await assert.rejects(s.read(0, 10), /a\.bin/)
})

test('read-only storage refuses writes and creates nothing', async (t) => {
  const folder = path.join(await tempDir(t), 'ro')
  const s = await openFileStorage(folder, FILES, { readonly: true })
  t.after(() => s.close())
  await assert.rejects(s.write(0, new Uint8Array(1)), /read-only/)
  assert.equal(existsSync(folder), false)
})

test('stat() gives sizes and mtimes, null for absent and pad files', async (t) => {
  const folder = await tempDir(t)
  const s = await openFileStorage(folder, FILES)
  t.after(() => s.close())
  assert.deepEqual(await s.stat(), [null, null, null, null, null, null])
  await s.write(0, new Uint8Array(500).fill(1))
  const st = await s.stat()
  assert.equal(st.length, FILES.length)
  assert.equal(st[0]!.size, 500)
  assert.equal(st[0]!.mtimeMs, (await stat(path.join(folder, 'a.bin'))).mtimeMs)
  assert.equal(st[1]!.size, 0)
  assert.equal(st[2], null)
  assert.equal(st[4]!.size, 0)
})

test('preallocate extends files to their full length', async (t) => {
  const folder = await tempDir(t)
  const s = await openFileStorage(folder, FILES, { preallocate: true })
  t.after(() => s.close())
  await s.write(0, Uint8Array.of(1))
  assert.deepEqual((await s.stat()).map((x) => x?.size ?? null), [1000, 0, null, 1, 3000, 17])
})

test('close() is idempotent, waits for writes, and later calls reject', async (t) => {
  const folder = await tempDir(t)
  const s = await openFileStorage(folder, FILES)
  const w = s.write(0, new Uint8Array(1000).fill(5))
  await Promise.all([s.close(), s.close()])
  await w
  await s.close()
  assert.deepEqual(await readFile(path.join(folder, 'a.bin')), Buffer.alloc(1000, 5))
  await assert.rejects(s.read(0, 1), /closed/)
  await assert.rejects(s.write(0, new Uint8Array(1)), /closed/)
  await s.sync().catch(() => {})
})

test('sync() flushes open handles', async (t) => {
  const folder = await tempDir(t)
  const s = await openFileStorage(folder, FILES)
  t.after(() => s.close())
  await s.write(5, Uint8Array.of(1, 2))
  await s.sync()
  assert.deepEqual([...(await readFile(path.join(folder, 'a.bin'))).subarray(5, 7)], [1, 2])
})

test('readInto overwrites every byte: data where written, zeros elsewhere (pad, absent, short files)', async (t) => {
  const folder = await tempDir(t)
  const s = await openFileStorage(folder, FILES)
  t.after(() => s.close())
  await s.write(990, Uint8Array.from({ length: 40 }, (_, i) => i + 1))
  const target = new Uint8Array(100).fill(0xee)
  const same = await s.readInto(960, target)
  assert.equal(same, target)
  const want = new Uint8Array(100)
  for (let i = 0; i < 40; i++) want[30 + i] = i + 1
  for (let i = 40; i < 64; i++) want[i] = 0 // pad region 1000..1023: written bytes are dropped
  assert.deepEqual(target, want)
  assert.equal(s.freshReads, true)
})

test('a full disk rejects with "disk full writing <file>" (a symlink to /dev/full stands in for it)', async (t) => {
  const folder = await tempDir(t)
  await symlink('/dev/full', path.join(folder, 'd.bin'))
  const s = await openFileStorage(folder, FILES)
  t.after(() => s.close())
  await assert.rejects(s.write(TOTAL - 17, new Uint8Array(17).fill(1)), (err: Error) => {
    assert.match(err.message, /^disk full writing .*d\.bin \(ENOSPC\)$/)
    return true
  })
})

test('once a file is open, writes land on disk before write() returns; a slow one sends the next to the thread pool', async (t) => {
  const folder = await tempDir(t)
  const files = layout([{ path: ['a.bin'], length: 64 }, { path: ['b.bin'], length: 64 }])
  // Each reading of the clock moves it past SLOW_SYNC_MS: every synchronous write looks slow.
  let clock = 0
  const storage = await openFileStorage(folder, files, { now: () => (clock += SLOW_SYNC_MS + 1) })
  t.after(() => storage.close())
  const { readFileSync } = await import('node:fs')
  const onDisk = (name: string): Buffer => readFileSync(path.join(folder, name))
  await storage.write(0, new Uint8Array(8).fill(1)) // opens the files (thread pool)
  // Open now, and the gate open: this write, across both files, is done when write() returns.
  const sync = storage.write(60, new Uint8Array(8).fill(2))
  assert.deepEqual([...onDisk('a.bin').subarray(60, 64)], [2, 2, 2, 2])
  assert.deepEqual([...onDisk('b.bin').subarray(0, 4)], [2, 2, 2, 2])
  await sync
  // It was slow by the clock: the next goes through the thread pool (not yet on disk when write() returns).
  const pooled = storage.write(8, new Uint8Array(8).fill(3))
  assert.deepEqual([...onDisk('a.bin').subarray(8, 16)], [0, 0, 0, 0, 0, 0, 0, 0])
  await pooled
  assert.deepEqual([...onDisk('a.bin').subarray(8, 16)], [3, 3, 3, 3, 3, 3, 3, 3])
})

test('syncWrites: false sends every write through the thread pool', async (t) => {
  const folder = await tempDir(t)
  const storage = await openFileStorage(folder, layout([{ path: ['a.bin'], length: 32 }]), { syncWrites: false })
  t.after(() => storage.close())
  const { readFileSync } = await import('node:fs')
  await storage.write(0, new Uint8Array(4).fill(1))
  const w = storage.write(4, new Uint8Array(4).fill(2))
  // Not written yet when write() returns: the file still ends after the first write.
  assert.equal(readFileSync(path.join(folder, 'a.bin')).length, 4)
  await w
  assert.deepEqual([...readFileSync(path.join(folder, 'a.bin')).subarray(4, 8)], [2, 2, 2, 2])
})

test('a synchronous write that fails rejects with a sentence, and the storage goes on', async (t) => {
  const folder = await tempDir(t)
  const storage = await openFileStorage(folder, layout([{ path: ['a.bin'], length: 32 }]))
  t.after(() => storage.close())
  await storage.write(0, new Uint8Array(4).fill(1))
  // A range outside the torrent is refused before any write, as on the thread pool path.
  await assert.rejects(async () => storage.write(30, new Uint8Array(4)), /outside the torrent/)
  await storage.write(4, new Uint8Array(4).fill(2))
  assert.deepEqual([...(await storage.read(0, 8))], [1, 1, 1, 1, 2, 2, 2, 2])
})

test('reads of open files up to SYNC_READ_MAX are filled before readInto() returns; larger ones, and syncReads: false, use the thread pool', async (t) => {
  const folder = await tempDir(t)
  const size = SYNC_READ_MAX * 2
  const files = layout([{ path: ['a.bin'], length: size }])
  const storage = await openFileStorage(folder, files)
  t.after(() => storage.close())
  await storage.write(0, new Uint8Array(size).fill(7)) // opens the file
  const small = new Uint8Array(SYNC_READ_MAX)
  const p = storage.readInto(0, small)
  assert.equal(small[0], 7)
  assert.equal(small[SYNC_READ_MAX - 1], 7)
  assert.equal(await p, small)
  const large = new Uint8Array(SYNC_READ_MAX + 1)
  const q = storage.readInto(0, large)
  assert.equal(large[0], 0)
  await q
  assert.equal(large[SYNC_READ_MAX], 7)

  const pooled = await openFileStorage(folder, files, { syncReads: false })
  t.after(() => pooled.close())
  await pooled.read(0, 1) // opens the file
  const out = new Uint8Array(16)
  const r = pooled.readInto(0, out)
  assert.equal(out[0], 0)
  await r
  assert.equal(out[0], 7)
})
