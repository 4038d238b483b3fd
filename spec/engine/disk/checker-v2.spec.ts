/**
 * Checking existing data of v2-only torrents (BEP 52): SHA-256 merkle roots of
 * each piece against the piece layers and file roots, on the hasher's worker
 * threads and inline, with one bad byte pinned to its piece.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, open, writeFile, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { checkExisting } from '../../../lib/engine/disk/checker.ts'
import { openFileStorage } from '../../../lib/engine/disk/file-storage.ts'
import { createHasher } from '../../../lib/engine/disk/hasher.ts'
import { makeTorrent } from '../../../lib/maker/index.ts'
import { parseMetainfo } from '../../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../../lib/engine/contracts.ts'
import { makeTempDir } from '../../support/peers/tmp.ts'

const PIECE = 32 * 1024

async function v2Set (root: string): Promise<Metainfo> {
  const src = join(root, 'share')
  await mkdir(src, { recursive: true })
  await writeFile(join(src, 'a.bin'), randomBytes(PIECE * 4 + 123)) // pieces 0-4 (layer)
  await writeFile(join(src, 'b.bin'), randomBytes(20_000)) // piece 5 (root, two leaves)
  await writeFile(join(src, 'c.bin'), randomBytes(PIECE * 2)) // pieces 6-7 (layer, no pad)
  const r = await parseMetainfo(await makeTorrent(src, { announce: 'http://127.0.0.1:1/a', pieceLength: PIECE, version: 'v2' }), { acceptV2Only: true })
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.value
}

const missing = (bits: { length: number; get(i: number): boolean }): number[] => Array.from({ length: bits.length }, (_, i) => i).filter(i => !bits.get(i))

for (const workers of [0, 2]) {
  test(`v2 data (${workers} workers): all pieces verify; a flipped byte fails its piece only; a short file fails the pieces it lacks`, async (t) => {
    const tmp = await makeTempDir('h20-check-')
    t.after(() => tmp.close())
    const m = await v2Set(tmp.path)
    assert.equal(m.pieceCount, 8)
    const hasher = createHasher({ workers })
    t.after(() => hasher.close())
    const check = async (chunkSize?: number): Promise<number[]> => {
      const storage = await openFileStorage(tmp.path, m.files, { readonly: true })
      try {
        return missing(await checkExisting(storage, m, hasher, undefined, undefined, chunkSize === undefined ? {} : { chunkSize }))
      } finally {
        await storage.close()
      }
    }
    assert.deepEqual(await check(), [])
    assert.deepEqual(await check(PIECE), [], 'one piece per read')
    // One byte of a.bin's piece 3 and one of b.bin (a file of one piece: its root).
    for (const [file, at] of [['a.bin', PIECE * 3 + 5], ['b.bin', 19_999]] as const) {
      const fh = await open(join(tmp.path, 'share', file), 'r+')
      const b = Buffer.alloc(1)
      await fh.read(b, 0, 1, at)
      b[0] = (b[0] as number) ^ 0xff
      await fh.write(b, 0, 1, at)
      await fh.close()
    }
    assert.deepEqual(await check(), [3, 5])
    await truncate(join(tmp.path, 'share', 'c.bin'), PIECE)
    assert.deepEqual(await check(), [3, 5, 7], 'the piece still whole on disk verifies')
  })
}

test('a v2 piece whose layer is missing never verifies (it cannot be checked)', async (t) => {
  const tmp = await makeTempDir('h20-check-')
  t.after(() => tmp.close())
  const m = await v2Set(tmp.path)
  const v2 = m.v2
  assert.ok(v2 !== undefined)
  const withoutLayers: Metainfo = { ...m, v2: { ...v2, pieceLayers: new Map() } }
  const hasher = createHasher({ workers: 0 })
  const storage = await openFileStorage(tmp.path, m.files, { readonly: true })
  try {
    assert.deepEqual(missing(await checkExisting(storage, withoutLayers, hasher)), [0, 1, 2, 3, 4, 6, 7])
  } finally {
    await storage.close()
    await hasher.close()
  }
})
