/**
 * Resume records by pieces root (v2): a torrent re-made after a file moved
 * within its tree has no record of its own, yet trusts the pieces of its
 * unchanged files from the old torrent's record through their roots; a file
 * whose size or mtime changed, a record of another piece length and a
 * malformed roots field are not trusted. Records without roots stay readable.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, rename, stat, writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { makeTorrent } from '../../../lib/maker/index.ts'
import { parseMetainfo } from '../../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../../lib/engine/contracts.ts'
import { loadResume, restoreHave, resumePath, saveResume, type FileStat } from '../../../lib/engine/disk/resume.ts'
import { openFileStorage } from '../../../lib/engine/disk/file-storage.ts'
import { createHasher } from '../../../lib/engine/disk/hasher.ts'
import { loadByRoots, parseRootEntries, rootEntries } from '../../../lib/engine/disk/resume-roots.ts'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'
import { makeTempDir } from '../../support/peers/tmp.ts'

const PIECE = 32 * 1024

const metaOf = async (root: string, pieceLength = PIECE): Promise<Metainfo> => {
  const r = await parseMetainfo(await makeTorrent(root, { announce: 'http://127.0.0.1:1/announce', pieceLength, version: 'v2' }), { acceptV2Only: true })
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.value
}

const statsOf = async (folder: string, meta: Metainfo): Promise<FileStat[]> =>
  Promise.all(meta.files.map(async (f) => {
    if (f.pad) return null
    const s = await stat(join(folder, ...f.path)).catch(() => null)
    return s === null ? null : { size: s.size, mtimeMs: s.mtimeMs }
  }))

const all = (n: number): Bitfield => {
  const b = new Bitfield(n)
  for (let i = 0; i < n; i++) b.set(i)
  return b
}

test('a torrent re-made after a file moved within the tree keeps the progress of its unchanged files', async (t) => {
  const tmp = await makeTempDir('t20-roots-')
  t.after(() => tmp.close())
  const folder = tmp.path
  await mkdir(join(folder, 'album', 'sub'), { recursive: true })
  await writeFile(join(folder, 'album', 'a.bin'), randomBytes(5 * PIECE + 100))
  await writeFile(join(folder, 'album', 'b.bin'), randomBytes(2 * PIECE + 7))
  await writeFile(join(folder, 'album', 'c.bin'), randomBytes(PIECE - 1))
  const first = await metaOf(join(folder, 'album'))
  const have = all(first.pieceCount)
  have.set(2, false) // one piece of a.bin was never verified
  await saveResume(folder, first, have, await statsOf(folder, first))
  const saved = JSON.parse(await readFile(resumePath(folder, first.infoHash), 'utf8')) as { roots: unknown[] }
  assert.equal(saved.roots.length, 3)

  // a.bin moves into sub/ (same bytes, same mtime); c.bin is rewritten: a new torrent of the same tree.
  await rename(join(folder, 'album', 'a.bin'), join(folder, 'album', 'sub', 'a.bin'))
  await writeFile(join(folder, 'album', 'c.bin'), randomBytes(PIECE - 1))
  const second = await metaOf(join(folder, 'album'))
  assert.notEqual(second.infoHash, first.infoHash)
  const stats = await statsOf(folder, second)
  assert.equal(await loadResume(folder, second, stats), null, 'no record of its own')
  const r = await loadByRoots(join(folder, '.torrent-patron'), second, stats)
  assert.ok(r !== null)
  const file = (name: string) => second.v2!.files.find((f) => f.path[f.path.length - 1] === name)!
  const a = file('a.bin')
  const b = file('b.bin')
  const c = file('c.bin')
  for (let i = 0; i < a.pieceCount; i++) assert.equal(r.trusted.get(a.firstPiece + i), i !== 2, `a.bin piece ${i}`)
  assert.equal(r.toCheck.get(a.firstPiece + 2), true, 'the unverified piece is checked')
  for (let i = 0; i < b.pieceCount; i++) assert.equal(r.trusted.get(b.firstPiece + i), true)
  assert.equal(r.trusted.get(c.firstPiece), false, 'the rewritten file is not trusted')
  assert.equal(r.toCheck.get(c.firstPiece), true)

  // Starting the new torrent: only the pieces no record vouches for are read and hashed.
  const storage = await openFileStorage(folder, second.files)
  t.after(() => storage.close())
  const hasher = createHasher({ workers: 0 })
  t.after(() => hasher.close())
  const restored = await restoreHave(folder, second, storage, hasher)
  assert.deepEqual([restored.source, restored.checked, restored.have.all()], ['resume', 2, true])

  // Another piece length: no file's pieces line up, nothing is taken.
  const other = await metaOf(join(folder, 'album'), 2 * PIECE)
  assert.equal(await loadByRoots(join(folder, '.torrent-patron'), other, await statsOf(folder, other)), null)
})

test('roots entries: made from the have bitfield, checked when read; a record without roots stays readable', async (t) => {
  const tmp = await makeTempDir('t20-roots2-')
  t.after(() => tmp.close())
  await mkdir(join(tmp.path, 'p'), { recursive: true })
  await writeFile(join(tmp.path, 'p', 'x.bin'), randomBytes(3 * PIECE))
  const meta = await metaOf(join(tmp.path, 'p'))
  const stats = await statsOf(tmp.path, meta)
  const entries = rootEntries(meta, all(meta.pieceCount), stats)
  assert.equal(entries.length, 1)
  assert.deepEqual(parseRootEntries(JSON.parse(JSON.stringify(entries))), entries)
  assert.equal(parseRootEntries([{ ...entries[0], root: 'zz' }]), null)
  assert.equal(parseRootEntries([{ ...entries[0], pieces: '!' }]), null)
  assert.equal(parseRootEntries('x'), null)
  // A record written without roots (older format) still loads.
  await saveResume(tmp.path, { ...meta, v2: undefined }, all(meta.pieceCount), stats)
  const loaded = await loadResume(tmp.path, meta, stats)
  assert.equal(loaded?.count(), meta.pieceCount)
  // A record whose roots field is malformed is not used at all.
  const file = resumePath(tmp.path, meta.infoHash)
  const rec = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
  await writeFile(file, JSON.stringify({ ...rec, roots: [{ root: 1 }] }))
  assert.equal(await loadResume(tmp.path, meta, stats), null)
})
