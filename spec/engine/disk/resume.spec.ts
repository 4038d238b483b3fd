import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile, readFile, readdir, stat, utimes, appendFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { loadResume, saveResume, resumePath, deleteResume, createResumeWriter, restoreHave, type ResumeTorrent, type FileStat } from '../../../lib/engine/disk/resume.ts'
import { createHasher } from '../../../lib/engine/disk/hasher.ts'
import type { Storage } from '../../../lib/engine/contracts.ts'
import { openFileStorage } from '../../../lib/engine/disk/file-storage.ts'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'
import type { FileEntry } from '../../../lib/engine/contracts.ts'
import { spawnSync } from 'node:child_process'
import { fillUp, mountTmpfs } from '../../support/mounts.ts'

const HASH = 'ab'.repeat(20)

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-resume-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

// piece length 100: a.bin 0..249 (pieces 0-2), pad 250..299 (piece 2), b.bin 300..549 (pieces 3-5), c.bin 550..599 (piece 5)
const FILES: FileEntry[] = [
  { path: ['a.bin'], length: 250, offset: 0, pad: false },
  { path: ['.pad', '50'], length: 50, offset: 250, pad: true },
  { path: ['b.bin'], length: 250, offset: 300, pad: false },
  { path: ['empty'], length: 0, offset: 550, pad: false },
  { path: ['c.bin'], length: 50, offset: 550, pad: false },
]
const TORRENT: ResumeTorrent = { infoHash: HASH, pieceLength: 100, pieceCount: 6, files: FILES }

async function setup(t: { after(fn: () => unknown): void }) {
  const folder = await tempDir(t)
  const storage = await openFileStorage(folder, FILES)
  t.after(() => storage.close())
  await storage.write(0, new Uint8Array(600).fill(9))
  const have = new Bitfield(6)
  for (const p of [0, 1, 3, 4, 5]) have.set(p)
  await saveResume(folder, TORRENT, have, await storage.stat())
  return { folder, storage, have }
}

const list = (b: Bitfield) => [...b.setIndices()]

test('matching stats: the saved bitfield is trusted, nothing to check', async (t) => {
  const { folder, storage } = await setup(t)
  const r = await loadResume(folder, TORRENT, await storage.stat())
  assert.ok(r)
  assert.ok(r instanceof Bitfield)
  assert.deepEqual(list(r), [0, 1, 3, 4, 5])
  assert.deepEqual(list(r.toCheck), [])
})

test('a file whose mtime changed: its pieces become untrusted and to check', async (t) => {
  const { folder, storage } = await setup(t)
  const b = path.join(folder, 'b.bin')
  const s = await stat(b)
  await utimes(b, s.atime, new Date(s.mtimeMs + 5000))
  const r = await loadResume(folder, TORRENT, await storage.stat())
  assert.ok(r)
  assert.deepEqual(list(r), [0, 1])
  assert.deepEqual(list(r.toCheck), [3, 4, 5])
})

test('a file whose size changed: its pieces become untrusted and to check', async (t) => {
  const { folder, storage } = await setup(t)
  const a = path.join(folder, 'a.bin')
  const s = await stat(a)
  await appendFile(a, 'x')
  await utimes(a, s.atime, s.mtime) // same mtime, only the size differs
  const r = await loadResume(folder, TORRENT, await storage.stat())
  assert.ok(r)
  assert.deepEqual(list(r), [3, 4, 5])
  assert.deepEqual(list(r.toCheck), [0, 1, 2])
})

test('a deleted file: its pieces are to check', async (t) => {
  const { folder, storage } = await setup(t)
  await rm(path.join(folder, 'c.bin'))
  const r = await loadResume(folder, TORRENT, await storage.stat())
  assert.ok(r)
  assert.deepEqual(list(r), [0, 1, 3, 4])
  assert.deepEqual(list(r.toCheck), [5])
})

test('written atomically: temp file + rename, no leftovers, previous record replaced whole', async (t) => {
  const { folder, storage } = await setup(t)
  const file = resumePath(folder, HASH)
  assert.equal(file, path.join(folder, '.torrent-patron', `${HASH}.resume.json`))
  const before = await stat(file)
  const all = new Bitfield(6)
  for (let i = 0; i < 6; i++) all.set(i)
  // a leftover temp file from a crash must not matter
  await writeFile(`${file}.999.dead.tmp`, '{"half')
  await Promise.all([saveResume(folder, TORRENT, all, await storage.stat()), saveResume(folder, TORRENT, all, await storage.stat())])
  const after = await stat(file)
  assert.notEqual(after.ino, before.ino, 'replaced by rename, not rewritten in place')
  assert.deepEqual((await readdir(path.dirname(file))).sort(), [`${HASH}.resume.json`, `${HASH}.resume.json.999.dead.tmp`])
  const r = await loadResume(folder, TORRENT, await storage.stat())
  assert.deepEqual(list(r!), [0, 1, 2, 3, 4, 5])
  const json = JSON.parse(await readFile(file, 'utf8'))
  assert.equal(json.infoHash, HASH)
  assert.equal(json.pieceLength, 100)
  assert.equal(json.files[1], null, 'pad file')
  assert.equal(json.files[0].size, 250)
})

test('corrupt, truncated or invalid records load as null', async (t) => {
  const { folder, storage } = await setup(t)
  const file = resumePath(folder, HASH)
  const good = await readFile(file, 'utf8')
  const stats = await storage.stat()
  const variants: Array<[string, string]> = [
    ['truncated', good.slice(0, good.length >> 1)],
    ['garbage', '\u0000\u0001not json'],
    ['empty', ''],
    ['array', '[]'],
    ['null', 'null'],
    ['wrong infohash', good.replace(HASH, 'cd'.repeat(20))],
    ['wrong piece length', good.replace('"pieceLength":100', '"pieceLength":200')],
    ['wrong version', good.replace('"version":1', '"version":2')],
    ['bad base64', good.replace(/"bitfield":"[^"]*"/, '"bitfield":"!!"')],
    ['spare bits set', good.replace(/"bitfield":"[^"]*"/, `"bitfield":"${Buffer.from([0xff]).toString('base64')}"`)],
    ['too many files', good.replace('"files":[', '"files":[null,')],
    ['bad file stat', good.replace(/"files":\[\{"size":250/, '"files":[{"size":"250"')],
  ]
  for (const [name, text] of variants) {
    assert.notEqual(text, good, name)
    await writeFile(file, text)
    assert.equal(await loadResume(folder, TORRENT, stats), null, name)
  }
  await deleteResume(folder, HASH)
  assert.equal(await loadResume(folder, TORRENT, stats), null, 'absent')
  await deleteResume(folder, HASH)
})

test('a record of another torrent is not used (lookup by infohash)', async (t) => {
  const { folder, storage } = await setup(t)
  const other = { ...TORRENT, infoHash: 'cd'.repeat(20) }
  assert.equal(await loadResume(folder, other, await storage.stat()), null)
  assert.throws(() => resumePath(folder, '../../etc/passwd'), /bad info hash/)
})

test('saveResume refuses mismatched inputs', async (t) => {
  const folder = await tempDir(t)
  const stats: FileStat[] = FILES.map(() => null)
  await assert.rejects(saveResume(folder, TORRENT, new Bitfield(5), stats), RangeError)
  await assert.rejects(saveResume(folder, TORRENT, new Bitfield(6), stats.slice(1)), RangeError)
})

test('resume writer: throttled, serialized, final flush on close', async (t) => {
  const { folder, storage } = await setup(t)
  const have = new Bitfield(6)
  let snapshots = 0
  let running = 0
  let overlap = false
  const writer = createResumeWriter({
    folder,
    metainfo: TORRENT,
    minIntervalMs: 10_000,
    snapshot: async () => {
      snapshots++
      running++
      if (running > 1) overlap = true
      await new Promise((r) => setTimeout(r, 5))
      running--
      return { have: have.clone(), stats: await storage.stat() }
    },
  })
  have.set(0)
  writer.changed()
  await writer.flush() // first write happens at once
  assert.equal(snapshots, 1)
  for (let i = 1; i < 6; i++) {
    have.set(i)
    writer.changed()
  }
  // the interval has not passed: nothing written yet
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(snapshots, 1)
  await Promise.all([writer.close(), writer.close(), writer.flush()])
  assert.equal(snapshots, 2)
  assert.equal(overlap, false)
  writer.changed()
  await writer.flush()
  assert.equal(snapshots, 2, 'no writes after close')
  assert.deepEqual(list((await loadResume(folder, TORRENT, await storage.stat()))!), [0, 1, 2, 3, 4, 5])
})

test('resume writer reports errors and retries on the next change', async (t) => {
  const { folder, storage } = await setup(t)
  const errors: Error[] = []
  let fail = true
  const writer = createResumeWriter({
    folder,
    metainfo: TORRENT,
    minIntervalMs: 0,
    onError: (e) => errors.push(e),
    snapshot: async () => {
      if (fail) throw new Error('boom')
      const all = new Bitfield(6)
      all.set(2)
      return { have: all, stats: await storage.stat() }
    },
  })
  writer.changed()
  await writer.flush()
  assert.equal(errors.length, 1)
  fail = false
  writer.changed()
  await writer.close()
  assert.deepEqual(list((await loadResume(folder, TORRENT, await storage.stat()))!), [2])
})

test('the disk fills up during a resume write: the error is reported, no temp file stays, the retry writes the record once there is room', async (t) => {
  const folder = await mountTmpfs(t, '1m')
  const storage = await openFileStorage(folder, FILES)
  t.after(() => storage.close())
  await storage.write(0, new Uint8Array(600).fill(9))
  const stateDir = path.dirname(resumePath(folder, HASH))
  const errors: Error[] = []
  let fill = true
  const have = new Bitfield(6)
  const writer = createResumeWriter({
    folder,
    metainfo: TORRENT,
    minIntervalMs: 0,
    onError: (e) => errors.push(e),
    snapshot: async () => {
      // Something else takes the last free byte while this write is under way.
      if (fill) await fillUp(path.join(folder, 'other'))
      return { have: have.clone(), stats: await storage.stat() }
    },
  })
  have.set(0)
  writer.changed()
  await writer.flush()
  assert.equal(errors.length, 1)
  assert.match(errors[0]!.message, /^cannot write resume record .*\.resume\.json: ENOSPC/)
  assert.deepEqual(await readdir(stateDir), [], 'no record, no temp file')
  fill = false
  await rm(path.join(folder, 'other'), { recursive: true })
  have.set(1)
  writer.changed()
  await writer.close()
  assert.deepEqual(await readdir(stateDir), [`${HASH}.resume.json`])
  assert.deepEqual(list((await loadResume(folder, TORRENT, await storage.stat()))!), [0, 1])
})

test("a writer's first write removes the temp files of killed writers", async (t) => {
  const { folder, storage } = await setup(t)
  const file = resumePath(folder, HASH)
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
  await writeFile(`${file}.${dead}.00ff00ff00ff.tmp`, '{"half')
  const writer = createResumeWriter({ folder, metainfo: TORRENT, snapshot: async () => ({ have: new Bitfield(6), stats: await storage.stat() }) })
  writer.changed()
  await writer.close()
  assert.deepEqual(await readdir(path.dirname(file)), [`${HASH}.resume.json`])
})

test('restoreHave: empty folder, full check without a record, partial check with one', async (t) => {
  const folder = await tempDir(t)
  const data = new Uint8Array(randomBytes(600))
  data.fill(0, 250, 300) // the pad region
  const pieceHashes = new Uint8Array(6 * 20)
  for (let p = 0; p < 6; p++) pieceHashes.set(createHash('sha1').update(data.subarray(p * 100, p * 100 + 100)).digest(), p * 20)
  const torrent = { ...TORRENT, length: 600, pieceHashes }
  const inner = await openFileStorage(folder, FILES)
  const reads: number[] = []
  const storage: Storage = { stat: () => inner.stat(), close: () => inner.close(), write: (o, d) => inner.write(o, d), read: (o, n) => (reads.push(o), inner.read(o, n)) }
  t.after(() => storage.close())
  const hasher = createHasher({ workers: 0 })

  const empty = await restoreHave(folder, torrent, storage, hasher)
  assert.deepEqual([empty.source, empty.have.count(), reads.length], ['empty', 0, 0])

  await storage.write(0, data)
  const full = await restoreHave(folder, torrent, storage, hasher)
  assert.equal(full.source, 'check')
  assert.equal(full.have.all(), true)

  await saveResume(folder, torrent, full.have, await storage.stat())
  reads.length = 0
  const trusted = await restoreHave(folder, torrent, storage, hasher)
  assert.deepEqual([trusted.source, trusted.checked, trusted.have.all(), reads.length], ['resume', 0, true, 0])

  // b.bin touched (pieces 3-5) and one of its bytes changed: only those pieces are read, piece 4 is lost
  const b = path.join(folder, 'b.bin')
  const bytes = await readFile(b)
  bytes[150] ^= 1 // torrent byte 450: piece 4
  await writeFile(b, bytes)
  reads.length = 0
  const progress: number[] = []
  const partial = await restoreHave(folder, torrent, storage, hasher, (d) => progress.push(d))
  assert.equal(partial.source, 'resume')
  assert.equal(partial.checked, 3)
  assert.deepEqual(list(partial.have), [0, 1, 2, 3, 5])
  assert.ok(reads.length > 0 && reads.every((o) => o >= 300), `read outside pieces 3-5: ${reads}`)
  assert.equal(progress.at(-1), 6)
})
