import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { loadPriorities, resumePath, saveResume, createResumeWriter } from '../../../lib/engine/disk/resume.ts'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'
import type { FilePriority } from '../../../lib/engine/download/priorities.ts'

const META = {
  infoHash: 'cd'.repeat(20),
  pieceLength: 16,
  pieceCount: 3,
  files: [
    { path: ['t', 'a'], length: 20, offset: 0, pad: false },
    { path: ['t', 'b'], length: 28, offset: 20, pad: false },
  ],
}

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-resume-prio-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

test('resume records keep file priorities; records without them read as no selection', async (t) => {
  const folder = await tempDir(t)
  assert.equal(await loadPriorities(folder, META), null, 'no record')
  await saveResume(folder, META, new Bitfield(3), [null, null])
  assert.equal(await loadPriorities(folder, META), null, 'record without a selection')
  await saveResume(folder, META, new Bitfield(3), [null, null], ['high', 'skip'])
  assert.deepEqual(await loadPriorities(folder, META), ['high', 'skip'])
})

test('the resume writer records the priorities of its snapshot', async (t) => {
  const folder = await tempDir(t)
  let priorities: FilePriority[] = ['skip', 'low']
  const w = createResumeWriter({ folder, metainfo: META, minIntervalMs: 0, snapshot: async () => ({ have: new Bitfield(3), stats: [null, null], priorities }) })
  w.changed()
  await w.flush()
  assert.deepEqual(await loadPriorities(folder, META), ['skip', 'low'])
  priorities = ['normal', 'normal']
  w.changed()
  await w.close()
  assert.deepEqual(await loadPriorities(folder, META), ['normal', 'normal'])
})

test('bad input: wrong count refused on save; a record with bad priorities is not used', async (t) => {
  const folder = await tempDir(t)
  await assert.rejects(saveResume(folder, META, new Bitfield(3), [null, null], ['high']), /1 priorities for 2 files/)
  await saveResume(folder, META, new Bitfield(3), [null, null], ['high', 'skip'])
  const file = resumePath(folder, META.infoHash)
  const rec = JSON.parse(await readFile(file, 'utf8'))
  await writeFile(file, JSON.stringify({ ...rec, priorities: ['high', 'urgent'] }))
  assert.equal(await loadPriorities(folder, META), null)
})
