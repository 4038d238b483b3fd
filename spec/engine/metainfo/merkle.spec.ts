/**
 * BEP 52 merkle trees against libtorrent as the oracle: files of awkward sizes
 * (one byte, one leaf, a leaf and a byte, one piece, many pieces and a tail)
 * made into v2 torrents by libtorrent, whose pieces roots and piece layers our
 * functions must reproduce from the data alone.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Buffer } from 'node:buffer'
import {
  fileRoot, hashPair, leafHashes, merkleRoot, nextPow2, padHash, pieceHash, pieceLayer, rootOfPieceLayer, splitHashes, LEAF_SIZE
} from '../../../lib/engine/metainfo/merkle.ts'
import { bdecode, isDict, isBytes, type BValue } from '../../../lib/engine/metainfo/bdecode-guard.ts'
import { ltInspect, ltMake } from '../../support/peers/libtorrent-oracle.ts'
import { makeTempDir } from '../../support/peers/tmp.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest())

test('pad hashes: level 0 is 32 zero bytes, each level hashes two of the one below', () => {
  assert.equal(hex(padHash(0)), '00'.repeat(32))
  assert.deepEqual(padHash(1), sha256(new Uint8Array(64)))
  assert.deepEqual(padHash(3), hashPair(padHash(2), padHash(2)))
  assert.throws(() => padHash(-1), RangeError)
})

test('a root over a padded layer equals the root over explicit pad leaves', () => {
  const leaves = Array.from({ length: 5 }, () => sha256(randomBytes(8)))
  const explicit = [...leaves, padHash(0), padHash(0), padHash(0)]
  assert.deepEqual(merkleRoot(leaves, 8), merkleRoot(explicit, 8))
  assert.deepEqual(merkleRoot(leaves, 16), hashPair(merkleRoot(leaves, 8), padHash(3)))
  assert.equal(nextPow2(0), 1)
  assert.equal(nextPow2(9), 16)
  assert.throws(() => merkleRoot(leaves, 4), RangeError)
  assert.throws(() => merkleRoot(leaves, 6), RangeError)
})

test('a piece layer hashes up to the file root (pad pieces are subtrees of pad leaves)', () => {
  const data = randomBytes(LEAF_SIZE * 4 * 5 + 100) // 5 pieces of 64 KiB and a little
  const leaves = leafHashes(data)
  const layer = pieceLayer(leaves, 65536)
  assert.equal(layer.length, 6 * 32)
  assert.deepEqual(rootOfPieceLayer(layer, 65536), fileRoot(leaves))
  assert.deepEqual(pieceHash(leaves.slice(20), 65536, true), splitHashes(layer)[5])
  const tampered = layer.slice()
  tampered[40] = (tampered[40] as number) ^ 1
  assert.notDeepEqual(rootOfPieceLayer(tampered, 65536), fileRoot(leaves))
  assert.throws(() => splitHashes(new Uint8Array(33)), RangeError)
})

test('pieces roots and piece layers agree with libtorrent 2.0.8', async () => {
  const tmp = await makeTempDir('h20-merkle-')
  try {
    const pieceLength = 32 * 1024
    const sizes: Record<string, number> = {
      'a-one-byte': 1,
      'b-one-leaf': LEAF_SIZE,
      'c-leaf-and-byte': LEAF_SIZE + 1,
      'd-one-piece': pieceLength,
      'e-many-pieces': pieceLength * 7 + 12345,
      'f-pow2-pieces': pieceLength * 8
    }
    const src = join(tmp.path, 'set')
    await mkdir(src)
    const data = new Map<string, Uint8Array>()
    for (const [name, size] of Object.entries(sizes)) {
      const bytes = new Uint8Array(randomBytes(size))
      data.set(name, bytes)
      await writeFile(join(src, name), bytes)
    }
    const torrent = await ltMake(src, join(tmp.path, 'set.torrent'), 'v2', pieceLength)
    const lt = await ltInspect(join(tmp.path, 'set.torrent'))
    const decoded = bdecode(torrent, { allowTrailing: true })
    assert.ok(decoded.ok && isDict(decoded.value))
    const layers = decoded.value.get('piece layers')
    assert.ok(isDict(layers))
    let checked = 0
    for (const f of lt.files.filter(f => !f.pad)) {
      const bytes = data.get(f.path.split('/').pop() as string) as Uint8Array
      const leaves = leafHashes(bytes)
      assert.equal(hex(fileRoot(leaves)), f.root, `root of ${f.path}`)
      if (bytes.length > pieceLength) {
        const theirs: BValue | undefined = [...layers].find(([k]) => hex(Buffer.from(k, 'latin1')) === f.root)?.[1]
        assert.ok(isBytes(theirs), `libtorrent wrote a piece layer for ${f.path}`)
        assert.equal(hex(pieceLayer(leaves, pieceLength)), hex(theirs))
        assert.equal(hex(rootOfPieceLayer(theirs, pieceLength)), f.root)
      } else {
        assert.equal(hex(pieceHash(leaves, pieceLength, false)), f.root)
      }
      checked++
    }
    assert.equal(checked, Object.keys(sizes).length)
  } finally {
    await tmp.close()
  }
})
