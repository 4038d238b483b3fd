/**
 * libtorrent's own test torrents, run against parseMetainfo: one test per file,
 * so a file that disappears or changes outcome shows up by name.
 *
 * Suite location: $PEER_SUITES (a folder holding libtorrent-test-torrents/),
 * default ../shared/peer-suites beside the repository (CI clones it there).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { parseMetainfo, staysInside } from '../../lib/engine/metainfo/index.ts'
import { ltInspect } from '../support/peers/libtorrent-oracle.ts'

const suitesRoot = process.env['PEER_SUITES'] ?? fileURLToPath(new URL('../../../shared/peer-suites', import.meta.url))
const dir = join(suitesRoot, 'libtorrent-test-torrents')

interface Expected {
  readonly libtorrent_expects: string
  readonly libtorrent_2_0_8: string
  readonly v1?: boolean
  readonly v2?: boolean
  readonly infohash_v1?: string
  readonly infohash_v2?: string
  readonly total_size?: number
  readonly num_files?: number
  readonly pad_files?: number
  readonly piece_length?: number
  readonly num_pieces?: number
}

const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, Expected>
const torrentFiles = readdirSync(dir).filter(f => f.endsWith('.torrent')).sort()

/**
 * Files libtorrent accepts (sanitising the path or the size) that we refuse on
 * purpose: nothing from a stranger's metainfo is rewritten into a different
 * path; unsafe or ambiguous names stop the torrent with a reason instead.
 * Each value is a fragment the refusal reason must contain.
 */
const REFUSED_BY_POLICY: Readonly<Record<string, string>> = {
  'absolute_filename.torrent': 'component "/foobar" contains "/" (files[1].path)',
  'backslash_path.torrent': 'contains "\\" (files[0].path)',
  'duplicate_files.torrent': 'duplicate file path "temp/foo/bar.txt"',
  'duplicate_files2.torrent': 'duplicate file path "temp/foo/bar.txt"',
  'empty_path.torrent': 'empty path component is not allowed (files[0].path)',
  'empty_path_multi.torrent': 'empty path component is not allowed (files[1].path)',
  'hidden_parent_path.torrent': 'component "foo/../../../bar" contains "/"',
  'invalid_directory_name.torrent': 'component "/" contains "/" (files[0].path)',
  'invalid_filename.torrent': 'torrent name: component "\\\\est2" contains "\\"',
  'invalid_filename2.torrent': 'torrent name: component "\\\\est2" contains "\\"',
  'invalid_name2.torrent': 'torrent name: component ".." is not allowed (info.name)',
  'long_name.torrent': 'is longer than 255 bytes (info.name)',
  'parent_path.torrent': 'component ".." is not allowed (files[0].path)',
  'slash_path.torrent': 'component "/" contains "/" (files[0].path)',
  'slash_path2.torrent': 'component "abc/../../def" contains "/"',
  'slash_path3.torrent': 'torrent name: component "temp/../../abc" contains "/"',
  'symlink_filtered_path.torrent': 'component "/" contains "/" (files[0].path)',
  // 512 MiB - 16 KiB: not a power of two and over our 64 MiB cap (such sizes crashed libtorrent 1.2 while checking).
  'large_piece_size.torrent': 'piece length 536854528 is outside the supported range',
  // v2 file names libtorrent rewrites ("\x82est/MB" to "_estMB", "//" to "_"): refused, as for v1.
  'v2_invalid_filename.torrent': 'torrent name: component',
  'v2_invalid_filename2.torrent': 'file path component "//" contains "/"',
  // Its piece layer does not hash to the file's root: libtorrent 2.0.8 loads it and would fail every piece.
  'v2_invalid_root_hash.torrent': 'the piece layer of "make_torrent.o" does not hash to the file\'s pieces root'
}

test('the libtorrent suite is complete: every file has an expectation and none is silently dropped', () => {
  assert.ok(torrentFiles.length >= 105 && torrentFiles.length <= 115, `found ${torrentFiles.length} .torrent files in ${dir}`)
  assert.deepEqual(torrentFiles, Object.keys(expected).sort())
  for (const f of Object.keys(REFUSED_BY_POLICY)) assert.ok(f in expected, `policy entry ${f} names a file of the suite`)
})

for (const file of torrentFiles) {
  const e = expected[file] as Expected
  // libtorrent's own test list is the verdict; 2.0.8 loads some files the list (and we) refuse.
  const refusedByLibtorrent = e.libtorrent_expects.startsWith('refuse') || e.libtorrent_2_0_8.startsWith('refuse')
  const policy = REFUSED_BY_POLICY[file]
  const kind = e.v1 === true ? (e.v2 === true ? 'hybrid' : 'v1') : 'v2'
  const label = refusedByLibtorrent
    ? `refuse (libtorrent: ${e.libtorrent_expects.startsWith('refuse') ? e.libtorrent_expects.slice(8) : e.libtorrent_2_0_8.slice(8)})`
    : policy !== undefined ? 'refuse by policy' : `accept ${kind}, same as libtorrent`
  test(`${file}: ${label}`, async () => {
    const r = await parseMetainfo(new Uint8Array(readFileSync(join(dir, file))), { acceptV2Only: true })
    if (refusedByLibtorrent || policy !== undefined) {
      assert.equal(r.ok, false, `${file} should be refused`)
      if (r.ok) return
      assert.match(r.reason, /^metainfo: \S/)
      if (policy !== undefined) assert.ok(r.reason.includes(policy), `reason "${r.reason}" should contain "${policy}"`)
      return
    }
    assert.equal(r.ok, true, r.ok ? '' : r.reason)
    if (!r.ok) return
    const m = r.value
    assert.equal(m.version, kind)
    if (e.v1 === true) assert.equal(m.infoHash, e.infohash_v1)
    if (e.infohash_v2 !== undefined) {
      assert.equal(m.v2?.infoHash, e.infohash_v2)
      if (e.v1 !== true) assert.equal(m.infoHash, e.infohash_v2.slice(0, 40), 'a v2-only swarm is keyed by the first 20 bytes')
    }
    assert.equal(m.length, e.total_size)
    assert.equal(m.pieceLength, e.piece_length)
    assert.equal(m.pieceCount, e.num_pieces)
    assert.equal(m.files.length, e.num_files)
    assert.equal(m.files.filter(f => f.pad).length >= (e.pad_files ?? 0), true)
    assert.equal(m.pieceHashes.length, e.v1 === true ? m.pieceCount * 20 : 0)
    assert.equal(m.lastPieceLength, m.length - (m.pieceCount - 1) * m.pieceLength)
    assert.equal(m.fileBytes, m.files.filter(f => !f.pad).reduce((n, f) => n + f.length, 0))
    let offset = 0
    for (const f of m.files) {
      assert.equal(f.offset, offset)
      offset += f.length
      assert.ok(staysInside('/save/here', f.path), `unsafe path ${JSON.stringify(f.path)}`)
    }
    assert.equal(offset, m.length)
    for (const f of m.v2?.files ?? []) {
      assert.equal(f.offset % m.pieceLength, 0, `${f.path.join('/')} starts on a piece`)
      assert.equal(f.firstPiece, f.offset / m.pieceLength)
    }
  })
}

test('v2 info hashes of the files expected.json leaves without one agree with libtorrent itself', async () => {
  const missing = torrentFiles.filter(f => expected[f]?.v2 === true && expected[f]?.infohash_v2 === undefined && !(f in REFUSED_BY_POLICY) && expected[f]?.libtorrent_expects.startsWith('refuse') !== true)
  assert.ok(missing.length >= 1)
  for (const file of missing) {
    const lt = await ltInspect(join(dir, file))
    const r = await parseMetainfo(new Uint8Array(readFileSync(join(dir, file))), { acceptV2Only: true })
    assert.ok(r.ok, r.ok ? '' : r.reason)
    assert.equal(r.value.v2?.infoHash, lt.v2, file)
  }
})
