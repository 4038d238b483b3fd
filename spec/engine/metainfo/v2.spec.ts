/**
 * The v2 half of torrents (BEP 52): layout, info hashes and every refusal, on
 * torrents built here from real data (roots and layers computed from bytes).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Buffer } from 'node:buffer'
import { parseMetainfo, parseMagnet, bencode, type Encodable, limits } from '../../../lib/engine/metainfo/index.ts'
import { fileRoot, leafHashes, pieceLayer } from '../../../lib/engine/metainfo/merkle.ts'
import type { Metainfo } from '../../../lib/engine/contracts.ts'

const PIECE = 16 * 1024
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const a = new Uint8Array(randomBytes(PIECE * 3 + 10)) // three pieces and a bit: needs a layer
const b = new Uint8Array(randomBytes(100))
const leaf = (data: Uint8Array): Encodable => ({ '': { length: data.length, 'pieces root': fileRoot(leafHashes(data)) } })
const layers = (...files: Uint8Array[]): Map<Uint8Array, Uint8Array> =>
  new Map(files.filter(f => f.length > PIECE).map(f => [fileRoot(leafHashes(f)), pieceLayer(leafHashes(f), PIECE)]))

function v2Info (over: Record<string, Encodable | undefined> = {}): Record<string, Encodable | undefined> {
  return { name: 'share', 'piece length': PIECE, 'meta version': 2, 'file tree': { 'a.bin': leaf(a), dir: { 'b.bin': leaf(b) } }, ...over }
}

/** The v1 half that agrees with v2Info: pad files align each file on a piece. */
function v1Half (): Record<string, Encodable> {
  const pad = (n: number): Encodable => ({ attr: 'p', length: PIECE - (n % PIECE), path: ['.pad', String(PIECE - (n % PIECE))] })
  const padded = (d: Uint8Array): Uint8Array => { const out = new Uint8Array(Math.ceil(d.length / PIECE) * PIECE); out.set(d); return out }
  const data = Buffer.concat([padded(a), padded(b)])
  const pieces: Buffer[] = []
  for (let i = 0; i < data.length; i += PIECE) pieces.push(createHash('sha1').update(data.subarray(i, i + PIECE)).digest())
  return { files: [{ length: a.length, path: ['a.bin'] }, pad(a.length), { length: b.length, path: ['dir', 'b.bin'] }, pad(b.length)], pieces: Buffer.concat(pieces) }
}

const torrent = (info: Encodable, pieceLayers: Encodable | undefined = layers(a, b)): Uint8Array =>
  bencode({ announce: 'http://127.0.0.1:1/announce', info, 'piece layers': pieceLayers })

async function ok (bytes: Uint8Array): Promise<Metainfo> {
  const r = await parseMetainfo(bytes, { acceptV2Only: true })
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.value
}

async function refused (bytes: Uint8Array, fragment: string): Promise<void> {
  const r = await parseMetainfo(bytes, { acceptV2Only: true })
  assert.equal(r.ok, false, 'should be refused')
  if (!r.ok) assert.ok(r.reason.startsWith('metainfo: ') && r.reason.includes(fragment), `reason "${r.reason}" should contain "${fragment}"`)
}

function infoSpan (bytes: Uint8Array): Uint8Array {
  const at = Buffer.from(bytes).indexOf('4:infod') + 6
  const end = Buffer.from(bytes).indexOf('12:piece layers')
  return bytes.subarray(at, end === -1 ? bytes.length - 1 : end)
}

test('a v2-only torrent: files aligned on pieces with pad entries, v2 info hash, the swarm key is its first 20 bytes', async () => {
  const bytes = torrent(v2Info())
  const m = await ok(bytes)
  assert.equal(m.version, 'v2')
  const v2hash = createHash('sha256').update(infoSpan(bytes)).digest('hex')
  assert.equal(m.v2?.infoHash, v2hash)
  assert.equal(m.infoHash, v2hash.slice(0, 40))
  assert.deepEqual(m.files.map(f => [f.path.join('/'), f.offset, f.length, f.pad]), [
    ['share/a.bin', 0, a.length, false],
    ['share/.pad/16374', a.length, PIECE - 10, true],
    ['share/dir/b.bin', PIECE * 4, b.length, false],
    ['share/.pad/16284', PIECE * 4 + 100, PIECE - 100, true]
  ])
  assert.equal(m.pieceCount, 5)
  assert.equal(m.length, 5 * PIECE)
  assert.equal(m.fileBytes, a.length + b.length)
  assert.equal(m.pieceHashes.length, 0)
  assert.deepEqual(m.v2?.files.map(f => [f.firstPiece, f.pieceCount, hex(f.root as Uint8Array)]), [
    [0, 4, hex(fileRoot(leafHashes(a)))], [4, 1, hex(fileRoot(leafHashes(b)))]
  ])
  assert.deepEqual([...(m.v2?.pieceLayers.keys() ?? [])], [hex(fileRoot(leafHashes(a)))])
})

test('v2-only torrents are refused unless asked for (the download path needs a v1 half)', async () => {
  const r = await parseMetainfo(torrent(v2Info()))
  assert.deepEqual(r, { ok: false, reason: 'metainfo: BitTorrent v2-only torrents (BEP 52) are not supported yet' })
})

test('a single file named like the torrent is the torrent itself', async () => {
  const m = await ok(torrent(v2Info({ name: 'a.bin', 'file tree': { 'a.bin': leaf(a) } }), layers(a)))
  assert.deepEqual(m.files.map(f => f.path), [['a.bin'], ['a.bin', '.pad', '16374']])
})

test('a hybrid whose halves agree: both info hashes, v1 pieces, sizes without pads', async () => {
  const bytes = torrent({ ...v2Info(), ...v1Half() })
  const m = await ok(bytes)
  assert.equal(m.version, 'hybrid')
  assert.equal(m.infoHash, createHash('sha1').update(infoSpan(bytes)).digest('hex'))
  assert.equal(m.v2?.infoHash, createHash('sha256').update(infoSpan(bytes)).digest('hex'))
  assert.equal(m.fileBytes, a.length + b.length)
  assert.equal(m.length, 5 * PIECE)
})

test('a hybrid missing its last pad file is the same torrent (libtorrent accepts it too)', async () => {
  const half = v1Half()
  const files = half['files'] as Encodable[]
  // Without the tail pad the last v1 piece is 100 bytes: its hash must be over those bytes.
  const pieces = Buffer.from(half['pieces'] as Uint8Array)
  createHash('sha1').update(b).digest().copy(pieces, 4 * 20)
  await ok(torrent({ ...v2Info(), files: files.slice(0, 3), pieces }))
})

const hostile: Array<[string, () => Uint8Array, string]> = [
  ['a piece layer that does not hash to the root', () => {
    const l = layers(a)
    const [k, v] = [...l][0] as [Uint8Array, Uint8Array]
    const bad = v.slice(); bad[0] = (bad[0] as number) ^ 1
    return torrent(v2Info(), new Map([[k, bad]]))
  }, 'does not hash to the file\'s pieces root'],
  ['a piece layer of the wrong size', () => torrent(v2Info(), new Map([[fileRoot(leafHashes(a)), new Uint8Array(96)]])), 'is 96 bytes, expected 128'],
  ['a piece layer for no file', () => torrent(v2Info(), new Map([[new Uint8Array(32).fill(7), new Uint8Array(128)]])), 'for no file longer than a piece'],
  ['a layer for a file of one piece', () => torrent(v2Info(), new Map([[fileRoot(leafHashes(b)), new Uint8Array(32)]])), 'for no file longer than a piece'],
  ['"piece layers" not a dictionary', () => torrent(v2Info(), 'x'), '"piece layers" is not a dictionary'],
  ['traversal in a file tree name', () => torrent(v2Info({ 'file tree': { '..': { 'x.bin': leaf(b) } } })), 'component ".." is not allowed'],
  ['a slash inside a file tree name', () => torrent(v2Info({ 'file tree': { '../../etc/passwd': leaf(b) } })), 'contains "/"'],
  ['a file tree too deep for a path', () => {
    let node: Encodable = leaf(b)
    for (let i = 0; i < limits.MAX_PATH_DEPTH; i++) node = { d: node }
    return torrent(v2Info({ 'file tree': node as Record<string, Encodable> }))
  }, `deeper than ${limits.MAX_PATH_DEPTH} components`],
  ['a file that is also a directory', () => torrent(v2Info({ 'file tree': { x: { '': { length: 100, 'pieces root': fileRoot(leafHashes(b)) }, y: leaf(b) } } })), 'is both a file and a directory'],
  ['an empty file name', () => torrent(v2Info({ 'file tree': { '': { length: 1 } } })), 'file with an empty name'],
  ['a pad file in the tree', () => torrent(v2Info({ 'file tree': { x: { '': { attr: 'p', length: 100, 'pieces root': fileRoot(leafHashes(b)) } } } })), 'marked as a pad file'],
  ['a missing pieces root', () => torrent(v2Info({ 'file tree': { x: { '': { length: 100 } } } })), 'has no valid pieces root'],
  ['an all-zero pieces root', () => torrent(v2Info({ 'file tree': { x: { '': { length: 100, 'pieces root': new Uint8Array(32) } } } })), 'has no valid pieces root'],
  ['a negative length', () => torrent(v2Info({ 'file tree': { x: { '': { length: -1 } } } })), 'has a negative length'],
  ['an empty file tree', () => torrent(v2Info({ 'file tree': {} })), '"file tree" is empty'],
  ['a file tree that is a list', () => torrent(v2Info({ 'file tree': ['x'] })), 'missing or invalid "file tree"'],
  ['too many pieces', () => torrent(v2Info({ 'file tree': { x: { '': { length: PIECE * (limits.MAX_PIECES + 1), 'pieces root': new Uint8Array(32).fill(1) } } } }), undefined), 'too many pieces'],
  ['hybrid: a file of another size', () => {
    const half = v1Half(); const files = half['files'] as Array<Record<string, Encodable>>
    files[2] = { length: 99, path: ['dir', 'b.bin'] }
    return torrent({ ...v2Info(), ...half })
  }, 'v1 and v2 disagree on the size of "share/dir/b.bin"'],
  ['hybrid: a file of another name', () => {
    const half = v1Half(); const files = half['files'] as Array<Record<string, Encodable>>
    files[2] = { length: b.length, path: ['dir', 'c.bin'] }
    return torrent({ ...v2Info(), ...half })
  }, 'v1 and v2 file lists differ at "share/dir/b.bin"'],
  ['hybrid: files in another order', () => {
    const half = v1Half(); const files = half['files'] as Encodable[]
    return torrent({ ...v2Info(), ...half, files: [files[2], files[3], files[0], files[1]] as Encodable[] })
  }, 'v1 and v2 file lists differ'],
  ['hybrid: a file not aligned on a piece (no pad)', () => {
    const half = v1Half(); const files = half['files'] as Encodable[]
    return torrent({ ...v2Info(), ...half, files: [files[0], files[2], files[3]] as Encodable[] })
  }, 'not aligned to a piece'],
  ['hybrid: an extra file in v1', () => {
    const half = v1Half(); const files = half['files'] as Encodable[]
    return torrent({ ...v2Info(), ...half, files: [...files, { length: 1, path: ['extra'] }] })
  }, 'v1 and v2 file lists differ (3 files with data in v1, 2 in v2)']
]

for (const [name, make, fragment] of hostile) {
  test(`refused: ${name}`, async () => { await refused(make(), fragment) })
}

test('refused: duplicate names in a file tree (a repeated dictionary key)', async () => {
  const good = Buffer.from(torrent(v2Info({ 'file tree': { x: leaf(b), y: leaf(b) } })))
  const dup = good.toString('latin1').replace('1:yd0:', '1:xd0:')
  await refused(new Uint8Array(Buffer.from(dup, 'latin1')), 'duplicate dictionary key "x"')
})

test('refused: file tree keys out of order (the order is the file order)', async () => {
  const good = Buffer.from(torrent(v2Info({ 'file tree': { x: leaf(b), y: leaf(b) } })))
  const swapped = good.toString('latin1').replace('1:xd0:', '1:Qd0:').replace('1:yd0:', '1:xd0:').replace('1:Qd0:', '1:yd0:')
  await refused(new Uint8Array(Buffer.from(swapped, 'latin1')), '"file tree" keys are not sorted')
})

test('refused without a crash: a file tree 10,000 levels deep', async () => {
  const depth = 10_000
  const open = '1:ad'.repeat(depth)
  const close = 'e'.repeat(depth)
  const raw = `d4:infod9:file treed${open}0:d6:lengthi1eee${close}e12:meta versioni2e4:name1:a12:piece lengthi16384eee`
  await refused(new Uint8Array(Buffer.from(raw, 'latin1')), 'nesting deeper than')
})

test('magnets: btmh alone, both xt for a hybrid, bad multihashes', () => {
  const v2 = 'cd'.repeat(32)
  const only = parseMagnet(`magnet:?xt=urn:btmh:1220${v2}&dn=x`, { acceptV2Only: true })
  assert.ok(only.ok)
  assert.equal(only.value.infoHash, v2.slice(0, 40))
  assert.equal(only.value.infoHashV2, v2)
  const refusedByDefault = parseMagnet(`magnet:?xt=urn:btmh:1220${v2}`)
  assert.equal(refusedByDefault.ok, false)
  const hybrid = parseMagnet(`magnet:?xt=urn:btih:${'ab'.repeat(20)}&xt=urn:btmh:1220${v2.toUpperCase()}`)
  assert.ok(hybrid.ok)
  assert.equal(hybrid.value.infoHash, 'ab'.repeat(20))
  assert.equal(hybrid.value.infoHashV2, v2)
  for (const bad of [`1114${'ab'.repeat(20)}`, `1220${'ab'.repeat(31)}`, `1220${'zz'.repeat(32)}`]) {
    const r = parseMagnet(`magnet:?xt=urn:btmh:${bad}`, { acceptV2Only: true })
    assert.equal(r.ok, false, bad)
    if (!r.ok) assert.match(r.reason, /SHA-256 multihash/)
  }
  const two = parseMagnet(`magnet:?xt=urn:btmh:1220${v2}&xt.2=urn:btmh:1220${'ef'.repeat(32)}`, { acceptV2Only: true })
  assert.equal(two.ok, false)
})
