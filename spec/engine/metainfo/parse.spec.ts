/**
 * parseMetainfo, metainfoFromInfoBytes and the path rules, case by case: every
 * hostile case named in docs/security.md has a test here (the fuzz suite covers
 * the space between them).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  parseMetainfo, metainfoFromInfoBytes, bencode, bdecode, pathCollision, staysInside, componentProblem, limits, type Encodable
} from '../../../lib/engine/metainfo/index.ts'
import type { Metainfo, ParseResult } from '../../../lib/engine/contracts.ts'

const enc = new TextEncoder()
const ANNOUNCE = 'http://127.0.0.1:6969/announce'

/** A valid multi-file info dict, with fields overridden (undefined removes a field). */
function info (over: Record<string, Encodable | undefined> = {}): Record<string, Encodable | undefined> {
  const files = (over['files'] ?? [{ length: 20_000, path: ['a', 'one.bin'] }, { length: 5, path: ['two.bin'] }]) as Encodable
  const base: Record<string, Encodable | undefined> = { name: 'share', 'piece length': 16384, files }
  const merged = { ...base, ...over }
  if (!('pieces' in over)) merged['pieces'] = new Uint8Array(20 * Math.ceil(total(merged) / 16384))
  return merged
}

function total (i: Record<string, Encodable | undefined>): number {
  if (Array.isArray(i['files'])) {
    return (i['files'] as Array<Record<string, Encodable>>).reduce((s, f) => s + (typeof f['length'] === 'number' && !String(f['attr'] ?? '').includes('l') ? f['length'] : 0), 0)
  }
  return typeof i['length'] === 'number' ? i['length'] : 0
}

const torrent = (i: Encodable, root: Record<string, Encodable> = {}): Uint8Array => bencode({ announce: ANNOUNCE, ...root, info: i })

async function ok (bytes: Uint8Array): Promise<Metainfo> {
  const r = await parseMetainfo(bytes)
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.value
}

async function refused (bytes: Uint8Array, fragment: string | RegExp): Promise<string> {
  const r: ParseResult<Metainfo> = await parseMetainfo(bytes)
  assert.equal(r.ok, false, `expected a refusal containing ${String(fragment)}`)
  if (r.ok) return ''
  assert.match(r.reason, /^metainfo: /)
  if (typeof fragment === 'string') assert.ok(r.reason.includes(fragment), `reason "${r.reason}" lacks "${fragment}"`)
  else assert.match(r.reason, fragment)
  return r.reason
}

test('a valid multi-file torrent: offsets, pieces, name-rooted paths, trackers', async () => {
  const m = await ok(torrent(info({ private: 1 }), { 'announce-list': [[ANNOUNCE, 'udp://127.0.0.1:1'], [ANNOUNCE]], 'url-list': 'http://seed.example/x' }))
  assert.deepEqual(m.files, [
    { path: ['share', 'a', 'one.bin'], length: 20_000, offset: 0, pad: false },
    { path: ['share', 'two.bin'], length: 5, offset: 20_000, pad: false }
  ])
  assert.equal(m.length, 20_005)
  assert.equal(m.pieceCount, 2)
  assert.equal(m.lastPieceLength, 20_005 - 16_384)
  assert.equal(m.private, true)
  assert.deepEqual(m.announce, [ANNOUNCE, 'udp://127.0.0.1:1'])
  assert.deepEqual(m.urlList, ['http://seed.example/x'])
  assert.equal(m.infoHash, createHash('sha1').update(bencode(info({ private: 1 }) as Encodable)).digest('hex'))
  assert.deepEqual(Buffer.from(m.infoHashBytes).toString('hex'), m.infoHash)
})

test('the info hash is over the original bytes, even with unsorted keys', async () => {
  const rawInfo = 'd4:name4:temp6:lengthi425e12:piece lengthi16384e6:pieces20:' + 'a'.repeat(20) + 'e'
  const bytes = enc.encode(`d8:announce${ANNOUNCE.length}:${ANNOUNCE}4:info${rawInfo}e`)
  const m = await ok(bytes)
  assert.equal(m.infoHash, createHash('sha1').update(rawInfo).digest('hex'))
  assert.equal(Buffer.from(m.infoBytes).toString('latin1'), rawInfo)
})

test('single-file torrent: the name is the file', async () => {
  const m = await ok(torrent(info({ files: undefined, length: 100 })))
  assert.deepEqual(m.files, [{ path: ['share'], length: 100, offset: 0, pad: false }])
})

test('trackers: announce-list wins, blanks trimmed, duplicates and non-tracker schemes dropped', async () => {
  const m = await ok(torrent(info(), { announce: 'http://ignored/announce', 'announce-list': [[' ' + ANNOUNCE + ' ', 'file:///etc/passwd', 'javascript:alert(1)'], [ANNOUNCE, 7 as unknown as Encodable]] }))
  assert.deepEqual(m.announce, [ANNOUNCE])
  const single = await ok(torrent(info(), { announce: 'udp://127.0.0.1:6969' }))
  assert.deepEqual(single.announce, ['udp://127.0.0.1:6969'])
})

test('BEP 47: pad files (attr p, or named _____padding_file_) and symlinks are never written', async () => {
  const m = await ok(torrent(info({
    files: [
      { length: 100, path: ['a.bin'] },
      { length: 16284, attr: 'p' },
      { length: 16284, attr: 'p' },
      { length: 7, path: ['_____padding_file_0'] },
      { length: 999, attr: 'l', path: ['link'], 'symlink path': ['..', '..', 'etc'] },
      { length: 3, path: ['b.bin'] }
    ]
  })))
  assert.deepEqual(m.files.map(f => [f.path.join('/'), f.length, f.pad]), [
    ['share/a.bin', 100, false],
    ['share/.pad/16284', 16284, true],
    ['share/.pad/16284', 16284, true],
    ['share/_____padding_file_0', 7, true],
    ['share/link', 0, true],
    ['share/b.bin', 3, false]
  ])
  assert.equal(m.length, 100 + 16284 * 2 + 7 + 3)
})

test('path.utf-8 and name.utf-8 take precedence, and are checked the same way', async () => {
  const m = await ok(torrent(info({ 'name.utf-8': 'Ünï', files: [{ length: 5, path: ['x'], 'path.utf-8': ['ÿ'] }] })))
  assert.deepEqual(m.files[0]?.path, ['Ünï', 'ÿ'])
  await refused(torrent(info({ 'name.utf-8': '..' })), 'torrent name: component ".." is not allowed (info.name)')
})

test('a stray byte after the torrent is ignored (as libtorrent does)', async () => {
  const bytes = torrent(info())
  const withNewline = new Uint8Array([...bytes, 0x0a])
  assert.equal((await ok(withNewline)).infoHash, (await ok(bytes)).infoHash)
})

const hostile: Array<[string, () => Uint8Array, string | RegExp]> = [
  ['empty input', () => new Uint8Array(0), 'torrent file is empty'],
  ['over the size limit', () => new Uint8Array(limits.MAX_METAINFO_BYTES + 1), `over the ${limits.MAX_METAINFO_BYTES}-byte limit`],
  ['top level is a list', () => enc.encode('l4:infoe'), 'top level is not a dictionary'],
  ['top level is a string', () => enc.encode('10:0123456789'), 'top level is not a dictionary'],
  ['info is a string', () => torrent('files'), 'missing or invalid "info" dictionary'],
  ['no info', () => bencode({ announce: ANNOUNCE }), 'missing or invalid "info" dictionary'],
  ['nesting one level too deep', () => enc.encode('d4:info' + 'l'.repeat(limits.MAX_BENCODE_DEPTH) + 'e'.repeat(limits.MAX_BENCODE_DEPTH) + 'e'), `nesting deeper than ${limits.MAX_BENCODE_DEPTH}`],
  ['nesting 1,000,000 deep (no stack overflow)', () => enc.encode('l'.repeat(1_000_000)), 'nesting deeper than'],
  ['more values than the limit', () => enc.encode('l' + 'i0e'.repeat(limits.MAX_BENCODE_VALUES + 1) + 'e'), 'too many bencoded values'],
  ['integer with a leading zero', () => enc.encode('d4:infod6:lengthi03eee'), 'leading zero'],
  ['negative zero', () => enc.encode('d4:infod6:lengthi-0eee'), 'negative zero'],
  ['empty integer', () => enc.encode('d4:infod6:lengthieee'), 'empty integer'],
  ['float', () => enc.encode('d4:infod6:lengthi1.5eee'), 'bad integer digit'],
  ['overlong integer', () => enc.encode('d4:infod6:lengthi99999999999999999999eee'), 'integer too long'],
  ['integer beyond int64', () => enc.encode('d4:infod6:lengthi9999999999999999999eee'), 'out of 64-bit range'],
  ['string longer than the data', () => enc.encode('d4:info999999:abce'), 'string runs past the end'],
  ['dictionary key not a string', () => enc.encode('di1ei2ee'), 'dictionary key is not a string'],
  ['duplicate dictionary key', () => enc.encode('d4:infod4:name1:a4:name1:bee'), 'duplicate dictionary key "name"'],
  ['__proto__ key cannot smuggle fields', () => {
    // An own "__proto__" key (an object literal would set the prototype instead).
    const i = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, Encodable>
    Object.assign(i, info({ pieces: undefined }))
    const raw = Buffer.from(bencode({ announce: ANNOUNCE, info: i })).toString('latin1').replace('9:__proto__d1:xi1ee', '9:__proto__d6:pieces40:' + 'x'.repeat(40) + 'e')
    assert.ok(raw.includes('9:__proto__d6:pieces'))
    return new Uint8Array(Buffer.from(raw, 'latin1'))
  }, 'missing or invalid piece hashes'],
  ['name missing', () => torrent(info({ name: undefined })), 'missing or invalid torrent name (info.name)'],
  ['name is an integer', () => torrent(info({ name: 1348 })), 'missing or invalid torrent name'],
  ['name ".."', () => torrent(info({ name: '..' })), 'component ".." is not allowed (info.name)'],
  ['name "."', () => torrent(info({ name: '.' })), 'component "." is not allowed (info.name)'],
  ['name empty', () => torrent(info({ name: '' })), 'empty path component is not allowed (info.name)'],
  ['name with "/"', () => torrent(info({ name: 'temp/../../abc' })), 'contains "/" (info.name)'],
  ['name absolute', () => torrent(info({ name: '/etc' })), 'contains "/" (info.name)'],
  ['name with "\\"', () => torrent(info({ name: '..\\x' })), 'contains "\\" (info.name)'],
  ['name with a drive letter', () => torrent(info({ name: 'C:evil' })), 'looks like a drive letter (info.name)'],
  ['name with NUL', () => torrent(info({ name: 'a\0b' })), 'contains a NUL byte (info.name)'],
  ['name with a control character', () => torrent(info({ name: 'a\x1bb' })), 'contains a control character (info.name)'],
  ['name over 255 bytes', () => torrent(info({ name: 'é'.repeat(128) })), 'longer than 255 bytes (info.name)'],
  ['piece length missing', () => torrent(info({ 'piece length': undefined })), 'missing or invalid piece length'],
  ['piece length a string', () => torrent(info({ 'piece length': '16384' })), 'missing or invalid piece length'],
  ['piece length 0', () => torrent(info({ 'piece length': 0 })), 'piece length 0 is not positive'],
  ['piece length negative', () => torrent(info({ 'piece length': -16384 })), 'piece length -16384 is not positive'],
  ['piece length below 16 KiB', () => torrent(info({ 'piece length': 8192 })), 'outside the supported range'],
  ['piece length over 64 MiB', () => torrent(info({ 'piece length': 128 * 1024 * 1024 })), 'outside the supported range'],
  ['piece length 2^40', () => torrent(info({ 'piece length': 2 ** 40 })), 'outside the supported range'],
  ['piece length not a power of two', () => torrent(info({ 'piece length': 16384 * 3 })), 'is not a power of two'],
  ['pieces missing', () => torrent(info({ pieces: undefined })), 'missing or invalid piece hashes (info.pieces)'],
  ['pieces an integer', () => torrent(info({ pieces: -23 })), 'missing or invalid piece hashes'],
  ['pieces not a multiple of 20', () => torrent(info({ pieces: new Uint8Array(24) })), 'not a multiple of 20'],
  ['too few piece hashes', () => torrent(info({ pieces: new Uint8Array(20) })), 'holds 1 hashes but 20005 bytes in 16384-byte pieces need 2'],
  ['too many piece hashes', () => torrent(info({ pieces: new Uint8Array(60) })), 'holds 3 hashes'],
  ['too many pieces', () => torrent(info({ files: undefined, length: 1759218597889, pieces: new Uint8Array(20) })), 'too many pieces'],
  ['total length 0', () => torrent(info({ files: undefined, length: 0, pieces: new Uint8Array(0) })), 'torrent has no data'],
  ['all files empty', () => torrent(info({ files: [{ length: 0, path: ['a'] }], pieces: new Uint8Array(0) })), 'torrent has no data'],
  ['length negative', () => torrent(info({ files: undefined, length: -425 })), 'length -425 is negative (info.length)'],
  ['length a string', () => torrent(info({ files: undefined, length: '425' })), 'missing or invalid length (info.length)'],
  ['length over 2^53', () => torrent(info({ files: undefined, length: 2n ** 60n })), 'is too large (info.length)'],
  ['sum of lengths over 2^53', () => torrent(info({ files: [{ length: 2 ** 52, path: ['a'] }, { length: 2 ** 52, path: ['b'] }, { length: 2 ** 52, path: ['c'] }], pieces: new Uint8Array(20) })), 'total length is too large'],
  ['file length negative', () => torrent(info({ files: [{ length: -45, path: ['a'] }] })), 'length -45 is negative (files[0].length)'],
  ['file length a list', () => torrent(info({ files: [{ length: [45], path: ['a'] }] })), 'missing or invalid file length (files[0].length)'],
  ['files not a list', () => torrent(info({ files: 'x' })), 'file list is not a list'],
  ['files empty', () => torrent(info({ files: [] })), 'torrent has no files'],
  ['file entry not a dictionary', () => torrent(info({ files: [3] })), 'file entry is not a dictionary (files[0])'],
  ['file path missing', () => torrent(info({ files: [{ length: 5 }] })), 'missing or invalid file path (files[0].path)'],
  ['file path empty list', () => torrent(info({ files: [{ length: 5, path: [] }] })), 'file path empty path (files[0].path)'],
  ['file path component an integer', () => torrent(info({ files: [{ length: 5, path: [1242, 'a'] }] })), 'file path component is not a string (files[0].path)'],
  ['file path ".."', () => torrent(info({ files: [{ length: 5, path: ['ok'] }, { length: 5, path: ['..', '..', 'bar'] }] })), 'file path component ".." is not allowed (files[1].path)'],
  ['file path "."', () => torrent(info({ files: [{ length: 5, path: ['.'] }] })), 'component "." is not allowed (files[0].path)'],
  ['file path empty component', () => torrent(info({ files: [{ length: 5, path: ['', 'x'] }] })), 'empty path component is not allowed (files[0].path)'],
  ['file path absolute', () => torrent(info({ files: [{ length: 5, path: ['/foobar'] }] })), 'contains "/" (files[0].path)'],
  ['file path hidden traversal', () => torrent(info({ files: [{ length: 5, path: ['foo/../../../bar'] }] })), 'contains "/" (files[0].path)'],
  ['file path backslash', () => torrent(info({ files: [{ length: 5, path: ['..\\..\\win.ini'] }] })), 'contains "\\" (files[0].path)'],
  ['file path drive letter', () => torrent(info({ files: [{ length: 5, path: ['C:', 'x'] }] })), 'drive letter (files[0].path)'],
  ['file path NUL', () => torrent(info({ files: [{ length: 5, path: ['a\0.txt'] }] })), 'NUL byte (files[0].path)'],
  ['file path newline', () => torrent(info({ files: [{ length: 5, path: ['a\n.txt'] }] })), 'control character (files[0].path)'],
  ['file path too deep', () => torrent(info({ files: [{ length: 5, path: Array.from({ length: limits.MAX_PATH_DEPTH }, () => 'd') }] })), `deeper than ${limits.MAX_PATH_DEPTH} components`],
  ['file path too long', () => torrent(info({ files: [{ length: 5, path: Array.from({ length: 20 }, () => 'x'.repeat(250)) }] })), `longer than ${limits.MAX_PATH_BYTES} bytes`],
  ['duplicate file paths', () => torrent(info({ files: [{ length: 5, path: ['foo', 'bar.txt'] }, { length: 4, path: ['foo', 'bar.txt'] }] })), 'duplicate file path "share/foo/bar.txt" (files[0] and files[1])'],
  ['a file is also a directory', () => torrent(info({ files: [{ length: 5, path: ['a', 'b'] }, { length: 4, path: ['a'] }] })), 'file path of files[1] is also a directory of files[0]'],
  ['too many files', () => torrent(info({ files: Array.from({ length: limits.MAX_FILES + 1 }, (_, i) => ({ length: 1, path: [String(i)] })) })), `too many files: ${limits.MAX_FILES + 1}`],
  ['v2-only torrent', () => torrent({ name: 'x', 'piece length': 16384, 'meta version': 2, 'file tree': { x: { '': { length: 5, 'pieces root': new Uint8Array(32).fill(1) } } } }), 'metainfo: BitTorrent v2-only torrents (BEP 52) are not supported yet'],
  ['unknown meta version', () => torrent(info({ 'meta version': 3 })), 'unsupported "meta version" 3'],
  ['hybrid whose v2 files differ', () => torrent(info({ 'meta version': 2, 'file tree': { 'two.bin': { '': { length: 5, 'pieces root': new Uint8Array(32).fill(1) } } } })), 'v1 and v2 file lists differ'],
  ['hybrid without a file tree', () => torrent(info({ 'meta version': 2 })), 'missing or invalid "file tree"']
]

for (const [name, make, fragment] of hostile) {
  test(`refused: ${name}`, { timeout: 60_000 }, async () => { await refused(make(), fragment) })
}

test('every truncation of a valid torrent is refused with a reason', async () => {
  const bytes = torrent(info(), { comment: 'some comment', 'announce-list': [[ANNOUNCE]] })
  for (let n = 0; n < bytes.length; n++) {
    const r = await parseMetainfo(bytes.subarray(0, n))
    assert.equal(r.ok, false, `prefix of ${n} bytes was accepted`)
    if (!r.ok) assert.ok(r.reason.length > 10)
  }
})

test('never throws, whatever it is given', async () => {
  for (const v of [undefined, null, 'd4:infoe', 42, {}, [1, 2], new ArrayBuffer(4)]) {
    const r = await parseMetainfo(v as unknown as Uint8Array)
    assert.equal(r.ok, false)
    const bare = await metainfoFromInfoBytes(v as unknown as Uint8Array)
    assert.equal(bare.ok, false)
  }
})

test('metainfoFromInfoBytes: hash of the given bytes, trackers from extras, strict about trailing bytes', async () => {
  const infoBytes = bencode(info() as Encodable)
  const r = await metainfoFromInfoBytes(infoBytes, { announce: [ANNOUNCE, 'file:///x', ANNOUNCE] })
  assert.ok(r.ok, r.ok ? '' : r.reason)
  assert.equal(r.value.infoHash, createHash('sha1').update(infoBytes).digest('hex'))
  assert.deepEqual(r.value.announce, [ANNOUNCE])
  assert.deepEqual(Buffer.from(r.value.infoBytes), Buffer.from(infoBytes))
  const whole = await ok(torrent(info()))
  assert.equal(whole.infoHash, r.value.infoHash)
  const trailing = await metainfoFromInfoBytes(new Uint8Array([...infoBytes, 0x0a]))
  assert.equal(trailing.ok, false)
  const notDict = await metainfoFromInfoBytes(enc.encode('l1:ae'))
  assert.deepEqual(notDict, { ok: false, reason: 'metainfo: info is not a dictionary' })
  const unsafe = await metainfoFromInfoBytes(bencode(info({ name: '..' }) as Encodable))
  assert.equal(unsafe.ok, false)
})

test('bdecode records the span of each top-level value and refuses trailing bytes unless asked', () => {
  const bytes = enc.encode('d1:ai1e4:infod1:x1:yee')
  const r = bdecode(bytes)
  assert.ok(r.ok)
  assert.deepEqual(r.rootSpans.get('info'), [13, 21])
  assert.equal(bdecode(enc.encode('i1ei2e')).ok, false)
  assert.equal(bdecode(enc.encode('i1ei2e'), { allowTrailing: true }).ok, true)
})

test('path rules: components, collisions, containment', () => {
  for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'C:', 'z:x', 'a\0', '\x07', 'x'.repeat(256)]) assert.notEqual(componentProblem(bad), null, bad)
  for (const good of ['a', '.hidden', '...', 'a..b', 'foobar ', 'x'.repeat(255), 'Ünï', '1:2']) assert.equal(componentProblem(good), null, good)
  assert.deepEqual(pathCollision([['a', 'b'], ['a', 'b']]), { first: 0, second: 1, kind: 'duplicate' })
  assert.deepEqual(pathCollision([['a'], ['a', 'b']]), { first: 0, second: 1, kind: 'prefix' })
  assert.equal(pathCollision([['a', 'b'], ['a', 'c'], null, ['A', 'b']]), null)
  assert.equal(staysInside('/srv/dl', ['a', 'b']), true)
  assert.equal(staysInside('/srv/dl', ['..', 'x']), false)
  assert.equal(staysInside('/srv/dl', ['/etc']), false)
  assert.equal(staysInside('/srv/dl', ['.']), false)
})
