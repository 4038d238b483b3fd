import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { removeStaleTemps, writeFileAtomic } from '../../../lib/engine/disk/atomic-file.ts'
import { fillUp, mountPoint, mountTmpfs, remountReadOnly } from '../../support/mounts.ts'

const temps = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((n) => n.endsWith('.tmp'))

/** The pid of a process that has exited (its number is free again). */
const deadPid = (): number => {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(r.stdout.toString())
}

test('writes and replaces the file, leaving no temp file', async (t) => {
  const dir = await mountPoint(t)
  const file = path.join(dir, 'state.json')
  await writeFileAtomic(file, 'one')
  await writeFileAtomic(file, 'two')
  assert.equal(await readFile(file, 'utf8'), 'two')
  assert.deepEqual(await readdir(dir), ['state.json'])
})

test('the disk fills up during the write: ENOSPC, no temp file, the old file intact', async (t) => {
  const dir = await mountTmpfs(t, '256k')
  const file = path.join(dir, 'state.json')
  await writeFileAtomic(file, 'old')
  await fillUp(path.join(dir, 'fill'))
  await assert.rejects(writeFileAtomic(file, 'x'.repeat(64 << 10)), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC')
  assert.deepEqual(await temps(dir), [])
  assert.equal(await readFile(file, 'utf8'), 'old')
  // Room again: the same write goes through.
  await rm(path.join(dir, 'fill'), { recursive: true })
  await writeFileAtomic(file, 'new')
  assert.equal(await readFile(file, 'utf8'), 'new')
  assert.deepEqual(await temps(dir), [])
})

test('the rename fails (a folder where the file goes): the error is the rename\'s, no temp file', async (t) => {
  const dir = await mountPoint(t)
  const file = path.join(dir, 'state.json')
  await mkdir(path.join(file, 'inside'), { recursive: true })
  await assert.rejects(writeFileAtomic(file, 'data'), (e: NodeJS.ErrnoException) => e.code === 'EISDIR' || e.code === 'ENOTEMPTY' || e.code === 'EEXIST')
  assert.deepEqual(await temps(dir), [])
})

test('a read-only file system: EROFS, nothing created', async (t) => {
  const dir = await mountTmpfs(t, '64k')
  await remountReadOnly(dir)
  await assert.rejects(writeFileAtomic(path.join(dir, 'state.json'), 'data'), (e: NodeJS.ErrnoException) => e.code === 'EROFS')
  assert.deepEqual(await readdir(dir), [])
})

test('removeStaleTemps removes temp files of exited writers only', async (t) => {
  const dir = await mountPoint(t)
  const file = path.join(dir, 'x.resume.json')
  const dead = deadPid()
  const names = {
    stale: `x.resume.json.${dead}.0a1b2c3d4e5f.tmp`,
    ours: `x.resume.json.${process.pid}.0a1b2c3d4e5f.tmp`,
    init: 'x.resume.json.1.0a1b2c3d4e5f.tmp', // pid 1 runs: its write may be in flight
    other: `y.resume.json.${dead}.0a1b2c3d4e5f.tmp`,
    record: 'x.resume.json',
    odd: `x.resume.json.${dead}.not-hex.tmp`
  }
  for (const n of Object.values(names)) await writeFile(path.join(dir, n), '{')
  assert.equal(await removeStaleTemps(file), 1)
  assert.deepEqual((await readdir(dir)).sort(), Object.values(names).filter((n) => n !== names.stale).sort())
  assert.equal(await removeStaleTemps(path.join(dir, 'absent', 'z.json')), 0, 'a missing folder is no error')
})
