import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir as plainMkdir, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { makeFolder } from '../../../lib/engine/disk/make-folder.ts'
import { mountPoint, mountTmpfs, remountReadOnly } from '../../support/mounts.ts'

test('creates missing parents; an existing folder is fine', async (t) => {
  const dir = await mountPoint(t)
  const deep = path.join(dir, 'a', 'b', 'c')
  await makeFolder(deep)
  assert.ok((await stat(deep)).isDirectory())
  await makeFolder(deep)
})

test('on a read-only file system the error is EROFS for the first folder that cannot be made, not ENOENT', async (t) => {
  const ro = await mountTmpfs(t, '64k')
  await plainMkdir(path.join(ro, 'there'))
  await remountReadOnly(ro)
  // Node's own recursive mkdir says ENOENT here: the reason the user needs is lost.
  await assert.rejects(plainMkdir(path.join(ro, 'x', 'y'), { recursive: true }), (e: NodeJS.ErrnoException) => e.code === 'ENOENT')
  await assert.rejects(makeFolder(path.join(ro, 'x', 'y')), (e: NodeJS.ErrnoException) => {
    assert.equal(e.code, 'EROFS')
    assert.match(e.message, /read-only file system, mkdir '.*\/x'$/)
    return true
  })
  await makeFolder(path.join(ro, 'there')) // exists: nothing to create, no error
})

test('a file in the way: ENOTDIR or EEXIST, as the file system says', async (t) => {
  const dir = await mountPoint(t)
  await writeFile(path.join(dir, 'file'), 'x')
  await assert.rejects(makeFolder(path.join(dir, 'file', 'sub')), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR')
  await assert.rejects(makeFolder(path.join(dir, 'file')), (e: NodeJS.ErrnoException) => e.code === 'EEXIST' || e.code === 'ENOTDIR')
})
