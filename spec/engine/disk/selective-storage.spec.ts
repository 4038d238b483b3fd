import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile, readdir, writeFile, mkdir, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { openSelectiveStorage, partsPath } from '../../../lib/engine/disk/selective-storage.ts'
import { openFileStorage } from '../../../lib/engine/disk/file-storage.ts'
import { checkExisting } from '../../../lib/engine/disk/checker.ts'
import { createHasher } from '../../../lib/engine/disk/hasher.ts'
import type { FileEntry } from '../../../lib/engine/contracts.ts'

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-selective-'))
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

const PIECE = 1024
// pieces: 0 [0,1024) 1 [1024,2048) 2 [2048,3072) 3 [3072,4096) 4 [4096,4100)
const FILES = layout([
  { path: ['t', 'a.bin'], length: 1500 }, // pieces 0-1
  { path: ['t', 'skip', 'b.bin'], length: 2000 }, // pieces 1-3, skipped
  { path: ['t', 'empty-skipped'], length: 0 },
  { path: ['t', 'c.bin'], length: 600 }, // pieces 3-4
])
const TOTAL = 4100
const INFOHASH = 'ab'.repeat(20)

test('skipped files are not created; their share of straddling pieces goes to the parts file and reads back', async (t) => {
  const folder = await tempDir(t)
  const data = new Uint8Array(randomBytes(TOTAL))
  const s = await openSelectiveStorage(folder, FILES, { infoHash: INFOHASH, pieceLength: PIECE, wanted: [true, false, false, true] })
  t.after(() => s.close())
  // the straddling pieces 1 and 3 (and 0, 4) arrive whole; piece 2 (inside the skipped file) never does
  for (const p of [0, 1, 3, 4]) await s.write(p * PIECE, data.subarray(p * PIECE, Math.min(TOTAL, (p + 1) * PIECE)))
  assert.deepEqual(await s.read(PIECE, PIECE), data.subarray(PIECE, 2 * PIECE), 'piece 1 reads whole (file a + parts file)')
  assert.deepEqual(await s.read(3 * PIECE, PIECE), data.subarray(3 * PIECE, 4 * PIECE))
  assert.deepEqual(await readdir(path.join(folder, 't')), ['a.bin', 'c.bin'])
  assert.deepEqual(await readFile(path.join(folder, 't', 'a.bin')), Buffer.from(data.subarray(0, 1500)))
  assert.deepEqual(await readFile(path.join(folder, 't', 'c.bin')), Buffer.from(data.subarray(3500)))
  assert.deepEqual((await readdir(folder)).sort(), ['.torrent-patron', 't'])
  assert.equal(s.partsPath, partsPath(path.join(folder, '.torrent-patron'), INFOHASH))
  assert.equal(existsSync(s.partsPath), true)
  assert.equal(s.inSaveFolder(1), false)
  // stat reports the skipped file as backed by the parts file, the empty skipped one absent
  const st = await s.stat()
  assert.equal(st[1]?.size, 2000)
  assert.equal(st[2], null)
})

test('a hash check over the selection verifies the straddling pieces and nothing inside the skipped file', async (t) => {
  const folder = await tempDir(t)
  const data = new Uint8Array(randomBytes(TOTAL))
  const pieceCount = Math.ceil(TOTAL / PIECE)
  const pieceHashes = new Uint8Array(20 * pieceCount)
  for (let p = 0; p < pieceCount; p++) pieceHashes.set(createHash('sha1').update(data.subarray(p * PIECE, (p + 1) * PIECE)).digest(), 20 * p)
  const s = await openSelectiveStorage(folder, FILES, { infoHash: INFOHASH, pieceLength: PIECE, wanted: [true, false, false, true] })
  t.after(() => s.close())
  for (const p of [0, 1, 3, 4]) await s.write(p * PIECE, data.subarray(p * PIECE, Math.min(TOTAL, (p + 1) * PIECE)))
  const hasher = createHasher()
  t.after(() => hasher.close())
  const have = await checkExisting(s, { pieceCount, pieceLength: PIECE, length: TOTAL, pieceHashes, files: FILES }, hasher)
  assert.deepEqual([...have.setIndices()], [0, 1, 3, 4])
})

test('a skipped file later wanted gets the bytes kept for it; the parts file goes once nothing needs it', async (t) => {
  const folder = await tempDir(t)
  const data = new Uint8Array(randomBytes(TOTAL))
  const s = await openSelectiveStorage(folder, FILES, { infoHash: INFOHASH, pieceLength: PIECE, wanted: [true, false, false, true] })
  t.after(() => s.close())
  for (const p of [0, 1, 3, 4]) await s.write(p * PIECE, data.subarray(p * PIECE, Math.min(TOTAL, (p + 1) * PIECE)))
  await s.setWanted(1, true)
  assert.equal(s.inSaveFolder(1), true)
  await s.write(2 * PIECE, data.subarray(2 * PIECE, 3 * PIECE)) // the piece inside it, downloaded now
  assert.deepEqual(await readFile(path.join(folder, 't', 'skip', 'b.bin')), Buffer.from(data.subarray(1500, 3500)))
  assert.equal(existsSync(s.partsPath), false, 'no file with bytes is left in the parts file')
  assert.equal(existsSync(path.join(folder, 't', 'empty-skipped')), false)
  await s.setWanted(2, true)
  assert.equal((await stat(path.join(folder, 't', 'empty-skipped'))).size, 0)
  assert.deepEqual(await s.read(0, TOTAL), data)
  await assert.rejects(s.setWanted(9, true), /no file #9/)
})

test('a file already on disk keeps receiving its bytes when skipped', async (t) => {
  const folder = await tempDir(t)
  await mkdir(path.join(folder, 't', 'skip'), { recursive: true })
  await writeFile(path.join(folder, 't', 'skip', 'b.bin'), '')
  const data = new Uint8Array(randomBytes(TOTAL))
  const s = await openSelectiveStorage(folder, FILES, { infoHash: INFOHASH, pieceLength: PIECE, wanted: [true, false, false, true] })
  t.after(() => s.close())
  assert.equal(s.inSaveFolder(1), true)
  await s.write(PIECE, data.subarray(PIECE, 2 * PIECE))
  assert.deepEqual((await readFile(path.join(folder, 't', 'skip', 'b.bin'))).subarray(0, 548), Buffer.from(data.subarray(1500, 2048)))
  assert.equal(existsSync(s.partsPath), false)
})

test('file-storage create option: only the files it allows are made up front', async (t) => {
  const folder = await tempDir(t)
  const s = await openFileStorage(folder, FILES, { create: (i) => i === 0 })
  t.after(() => s.close())
  await s.ensureFiles()
  assert.deepEqual(await readdir(path.join(folder, 't')), ['a.bin'])
})

test('bad input: selection of the wrong size, bad info hash', async (t) => {
  const folder = await tempDir(t)
  await assert.rejects(openSelectiveStorage(folder, FILES, { infoHash: INFOHASH, pieceLength: PIECE, wanted: [true] }), /1 selection flags for 4 files/)
  await assert.rejects(openSelectiveStorage(folder, FILES, { infoHash: 'zz', pieceLength: PIECE, wanted: [true, true, true, true] }), /bad info hash/)
})

test('property: random writes and selection changes read back like an in-memory model; skipped files never appear', async (t) => {
  const root = await tempDir(t)
  let run = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 1, max: 300 }),
      fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant('write' as const), at: fc.nat({ max: 3500 }), len: fc.integer({ min: 1, max: 400 }) }),
          fc.record({ kind: fc.constant('want' as const), file: fc.nat({ max: 4 }) }),
        ),
        { maxLength: 12 },
      ),
      async (lengths, pieceLength, wanted0, ops) => {
        const files = layout(lengths.map((length, i) => ({ path: [`f${i}`], length })))
        const total = files.reduce((n, f) => n + f.length, 0)
        const folder = path.join(root, String(run++))
        const wanted = files.map((_, i) => wanted0[i]!)
        const s = await openSelectiveStorage(folder, files, { infoHash: INFOHASH, pieceLength, wanted })
        const model = new Uint8Array(total)
        const written = new Uint8Array(total) // 1 where the model holds written bytes
        try {
          for (const op of ops) {
            if (op.kind === 'want') {
              if (op.file >= files.length) continue
              // moving keeps what the first and last piece of the file hold; so the model keeps everything written
              // only when every written byte of the file lies in those pieces (true for bytes of a skipped file
              // arriving with straddling pieces; the property writes anywhere, so compare only those bytes)
              await s.setWanted(op.file, true)
              const f = files[op.file]!
              const firstEnd = Math.min(f.offset + f.length, (Math.floor(f.offset / pieceLength) + 1) * pieceLength)
              const lastStart = Math.max(firstEnd, f.length > 0 ? Math.floor((f.offset + f.length - 1) / pieceLength) * pieceLength : firstEnd)
              for (let b = firstEnd; b < lastStart; b++) if (!wanted[op.file]) { model[b] = 0; written[b] = 0 }
              wanted[op.file] = true
            } else {
              if (total === 0) continue
              const at = op.at % total
              const len = Math.min(op.len, total - at)
              const bytes = new Uint8Array(randomBytes(len))
              await s.write(at, bytes)
              model.set(bytes, at)
              written.fill(1, at, at + len)
            }
          }
          const back = await s.read(0, total)
          for (let b = 0; b < total; b++) if (written[b]) assert.equal(back[b], model[b], `byte ${b}`)
          const present = existsSync(folder) ? (await readdir(folder)).filter((n) => n !== '.torrent-patron') : []
          for (const name of present) assert.ok(wanted[Number(name.slice(1))], `${name} is skipped but on disk`)
        } finally {
          await s.close()
        }
      },
    ),
    { numRuns: 60 },
  )
})
