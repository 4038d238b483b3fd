/**
 * makeTorrent's v2 and hybrid torrents against libtorrent 2.0.8 as the oracle:
 * libtorrent loads what we make and reports the same info hashes and pieces
 * roots, and libtorrent making a torrent of the same data gives the very same
 * info dictionary (so the same v1 and v2 info hashes).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Buffer } from 'node:buffer'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../lib/engine/contracts.ts'
import { ltInspect, ltMake } from '../support/peers/libtorrent-oracle.ts'
import { makeTempDir } from '../support/peers/tmp.ts'

const ANNOUNCE = 'http://127.0.0.1:6969/announce'
const PIECE = 32 * 1024

async function tree (root: string): Promise<void> {
  // Names chosen so that component order and joined-path order differ ('a-c' < 'a/b' joined, 'a' < 'a-c' by component).
  const files: Array<[string, number]> = [['a/b.bin', 70_000], ['a-c.bin', 5], ['a/z/empty', 0], ['big.bin', PIECE * 5], ['m.bin', PIECE + 1]]
  for (const [rel, size] of files) {
    await mkdir(join(root, rel, '..'), { recursive: true })
    await writeFile(join(root, rel), randomBytes(size))
  }
}

async function parsed (bytes: Uint8Array): Promise<Metainfo> {
  const r = await parseMetainfo(bytes, { acceptV2Only: true })
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.value
}

for (const version of ['v2', 'hybrid'] as const) {
  for (const shape of ['folder', 'single file'] as const) {
    test(`${version}, ${shape}: libtorrent reads the same hashes and makes the same info dictionary`, { timeout: 120_000 }, async () => {
      const tmp = await makeTempDir('h20-make-')
      try {
        const src = join(tmp.path, 'share')
        if (shape === 'folder') await tree(src)
        else await writeFile(src, randomBytes(PIECE * 3 + 100))
        const ours = await makeTorrent(src, { announce: ANNOUNCE, pieceLength: PIECE, version })
        const oursPath = join(tmp.path, 'ours.torrent')
        await writeFile(oursPath, ours)
        const m = await parsed(ours)
        assert.equal(m.version, version)
        const lt = await ltInspect(oursPath)
        assert.equal(lt.v2, m.v2?.infoHash)
        if (version === 'hybrid') assert.equal(lt.v1, m.infoHash)
        else assert.equal(lt.v1, null)
        assert.equal(lt.pieces, m.pieceCount)
        const ltRoots = lt.files.filter(f => !f.pad && f.root !== null).map(f => [f.path, f.root])
        const ourRoots = (m.v2?.files ?? []).filter(f => f.root !== null).map(f => [f.path.join('/'), Buffer.from(f.root as Uint8Array).toString('hex')])
        assert.deepEqual(ourRoots, ltRoots)
        assert.equal(m.fileBytes, lt.files.filter(f => !f.pad).reduce((n, f) => n + f.size, 0))

        const theirs = await parsed(await ltMake(src, join(tmp.path, 'theirs.torrent'), version, PIECE))
        assert.equal(theirs.v2?.infoHash, m.v2?.infoHash, 'the same info dictionary as libtorrent makes')
        assert.equal(theirs.infoHash, m.infoHash)
        assert.deepEqual([...(theirs.v2?.pieceLayers ?? [])], [...(m.v2?.pieceLayers ?? [])])
      } finally {
        await tmp.close()
      }
    })
  }
}

test('v1 stays the default and unchanged: no meta version, no file tree', async () => {
  const tmp = await makeTempDir('h20-make-')
  try {
    await writeFile(join(tmp.path, 'f'), randomBytes(1000))
    const m = await parsed(await makeTorrent(join(tmp.path, 'f'), { announce: ANNOUNCE }))
    assert.equal(m.version, 'v1')
    assert.equal(m.v2, undefined)
  } finally {
    await tmp.close()
  }
})
