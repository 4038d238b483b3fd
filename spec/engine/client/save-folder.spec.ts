import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { prepareSaveFolder } from '../../../lib/engine/client/save-folder.ts'

test('a missing folder is created and writable; a file in the way is refused with its path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'save-folder-'))
  try {
    const target = join(dir, 'a', 'b')
    assert.deepEqual(await prepareSaveFolder(target), { folder: target })
    assert.ok(existsSync(target))
    const file = join(dir, 'file')
    writeFileSync(file, 'x')
    const refused = await prepareSaveFolder(join(file, 'sub'))
    assert.equal(typeof refused, 'string')
    assert.match(refused as string, /save folder .*file\/sub is not usable/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a relative folder comes back absolute', async () => {
  const place = await prepareSaveFolder('.')
  assert.deepEqual(place, { folder: process.cwd() })
})
