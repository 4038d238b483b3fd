/** What verifies each v2 piece: a layer entry, or a small file's root; pads never hashed. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { bencode } from '../../../lib/engine/metainfo/bencode-encode.ts'
import { parseMetainfo } from '../../../lib/engine/metainfo/index.ts'
import { fileRoot, leafHashes, pieceLayer } from '../../../lib/engine/metainfo/merkle.ts'
import { missingPieceLayer, v2Targets, verifyV2Piece } from '../../../lib/engine/metainfo/v2-pieces.ts'

const PIECE = 64 * 1024
const big = new Uint8Array(randomBytes(PIECE * 2 + 5))
const small = new Uint8Array(randomBytes(40_000))

async function meta (withLayer: boolean) {
  const root = (d: Uint8Array) => fileRoot(leafHashes(d))
  const info = { name: 't', 'piece length': PIECE, 'meta version': 2, 'file tree': { a: { '': { length: big.length, 'pieces root': root(big) } }, b: { '': { length: small.length, 'pieces root': root(small) } } } }
  const layers = withLayer ? new Map([[root(big), pieceLayer(leafHashes(big), PIECE)]]) : undefined
  const r = await parseMetainfo(bencode({ info, 'piece layers': layers }), { acceptV2Only: true })
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.value
}

test('targets: layer entries for a big file, the root for a small one; only file bytes are hashed', async () => {
  const m = await meta(true)
  const targets = v2Targets(m)
  assert.ok(targets !== null)
  assert.equal(m.pieceCount, 4)
  const piece = (p: number): Uint8Array => {
    const out = new Uint8Array(PIECE) // pad bytes are zeros on the wire and on disk
    const f = p < 3 ? big : small
    const at = (p < 3 ? p : p - 3) * PIECE
    out.set(f.subarray(at, Math.min(at + PIECE, f.length)))
    return out
  }
  assert.deepEqual([0, 1, 2, 3].map(p => targets(p).bytes), [PIECE, PIECE, 5, 40_000])
  // A piece of a big file: its 4 leaves; a file of one piece: its 3 leaves padded to 4.
  assert.deepEqual([0, 2, 3].map(p => targets(p).width), [4, 4, 4])
  assert.deepEqual(targets(3).expected, fileRoot(leafHashes(small)))
  for (const p of [0, 1, 2, 3]) assert.equal(verifyV2Piece(piece(p), targets(p)), true, `piece ${p}`)
  const bad = piece(1); bad[100] = (bad[100] as number) ^ 1
  assert.equal(verifyV2Piece(bad, targets(1)), false)
  const padGarbage = piece(2); padGarbage[PIECE - 1] = 7
  assert.equal(verifyV2Piece(padGarbage, targets(2)), true, 'bytes past the file end are not hashed')
  assert.equal(missingPieceLayer(m), null)
  assert.equal(v2Targets({ ...m, v2: undefined }), null)
})

test('missing piece layers are named, and their pieces never verify', async () => {
  const m = await meta(false)
  assert.equal(missingPieceLayer(m)?.path.join('/'), 't/a')
  const targets = v2Targets(m)
  assert.equal(targets?.(0).expected, null)
  assert.equal(verifyV2Piece(big.subarray(0, PIECE), targets!(0)), false)
})
