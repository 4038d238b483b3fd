/**
 * Kept piece layers: saved and read back as they were; a missing, damaged or
 * foreign file reads as none, and what is read is only used once it proves
 * against the roots (withPieceLayers).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Buffer } from 'node:buffer'
import { layersPath, loadLayers, saveLayers, withKeptLayers } from '../../../lib/engine/disk/layer-store.ts'
import { withPieceLayers } from '../../../lib/engine/metainfo/v2-pieces.ts'
import { v2MetainfoOf } from '../../support/engine-fakes.ts'

const PIECE = 64 * 1024

test('layers saved for a torrent are read back the same, and prove against its roots', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'layer-store-'))
  t.after(() => rm(folder, { recursive: true, force: true }))
  const meta = await v2MetainfoOf(randomBytes(5 * PIECE + 77), PIECE)
  await saveLayers(folder, meta.infoHash, meta.v2!.pieceLayers)
  assert.equal(layersPath(folder, meta.infoHash), join(folder, '.torrent-patron', `${meta.infoHash}.layers`))
  const back = await loadLayers(folder, meta.infoHash)
  assert.deepEqual([...back.keys()], [...meta.v2!.pieceLayers.keys()])
  for (const [root, layer] of back) assert.ok(Buffer.from(layer).equals(meta.v2!.pieceLayers.get(root)!))
  const bare = { ...meta, v2: { ...meta.v2!, pieceLayers: new Map() } }
  const full = withPieceLayers(bare, back)
  assert.ok(typeof full !== 'string', String(full))
  assert.equal(full.v2!.pieceLayers.size, 1)
  assert.equal((await withKeptLayers(folder, bare)).v2!.pieceLayers.size, 1)
})

test('no file, a damaged file or a layer that does not prove: nothing usable', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'layer-store-'))
  t.after(() => rm(folder, { recursive: true, force: true }))
  const meta = await v2MetainfoOf(randomBytes(3 * PIECE), PIECE)
  assert.equal((await loadLayers(folder, meta.infoHash)).size, 0)
  await saveLayers(folder, meta.infoHash, meta.v2!.pieceLayers)
  await writeFile(layersPath(folder, meta.infoHash), 'd3:abc')
  assert.equal((await loadLayers(folder, meta.infoHash)).size, 0, 'a torn file reads as none')
  // A layer of the right root whose hashes were altered: read back, refused by the proof.
  const [root, layer] = [...meta.v2!.pieceLayers][0]!
  const bad = Uint8Array.from(layer)
  bad[3]! ^= 1
  await saveLayers(folder, meta.infoHash, new Map([[root, bad], ['ab'.repeat(8), layer]]))
  const back = await loadLayers(folder, meta.infoHash)
  assert.equal(back.size, 1, 'a key that is not a 32-byte root is dropped')
  const bare = { ...meta, v2: { ...meta.v2!, pieceLayers: new Map() } }
  assert.match(String(withPieceLayers(bare, back)), /does not hash to its pieces root/)
  assert.equal(await withKeptLayers(folder, bare), bare, 'a set that does not prove is not used')
})
