/**
 * makeTorrent against three independent readers: our own parser, parse-torrent,
 * Transmission's `transmission-show`, and against `mktorrent` making the same torrent.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
// @ts-expect-error parse-torrent ships no types; here it is only a reference reader.
import parseTorrent from 'parse-torrent'
import { makeTorrent, defaultPieceLength } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../lib/engine/contracts.ts'

const run = promisify(execFile)
const ANNOUNCE = 'http://127.0.0.1:6969/announce'

/** A folder tree of random files; sizes chosen to cross piece and file boundaries. */
async function makeTree (root: string): Promise<Map<string, number>> {
  const files = new Map<string, number>([
    ['a.bin', 100_000],
    ['sub/b.bin', 32_768],
    ['sub/deeper/c.bin', 1],
    ['sub/deeper/d e.bin', 250_123],
    ['z.bin', 65_536 + 7]
  ])
  for (const [rel, size] of files) {
    const abs = join(root, rel)
    await mkdir(join(abs, '..'), { recursive: true })
    await writeFile(abs, randomBytes(size))
  }
  return files
}

async function parsed (bytes: Uint8Array): Promise<Metainfo> {
  const r = await parseMetainfo(bytes)
  assert.ok(r.ok, r.ok ? '' : r.reason)
  return r.value
}

async function transmissionHash (torrentPath: string): Promise<string> {
  const { stdout } = await run('transmission-show', [torrentPath], { timeout: 30_000 })
  const m = /^\s*Hash:\s*([0-9a-f]{40})\s*$/im.exec(stdout)
  assert.ok(m !== null, `no Hash line in transmission-show output:\n${stdout}`)
  return (m[1] as string).toLowerCase()
}

test('a directory: parse back, parse-torrent, transmission-show and mktorrent agree', { timeout: 60_000 }, async t => {
  const tmp = await mkdtemp(join(tmpdir(), 'tp-make-'))
  t.after(() => rm(tmp, { recursive: true, force: true }))
  const data = join(tmp, 'share')
  const sizes = await makeTree(data)

  const bytes = await makeTorrent(data, { announce: [ANNOUNCE, 'udp://127.0.0.1:6969'], pieceLength: 32_768, comment: 'hello', private: true })
  const m = await parsed(bytes)
  assert.equal(m.name, 'share')
  assert.equal(m.pieceLength, 32_768)
  assert.equal(m.private, true)
  assert.deepEqual(m.announce, [ANNOUNCE, 'udp://127.0.0.1:6969'])
  const expectedFiles = [...sizes].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  assert.deepEqual(m.files.map(f => [f.path.slice(1).join('/'), f.length]), expectedFiles)
  assert.equal(m.length, [...sizes.values()].reduce((s, n) => s + n, 0))

  const pt = await (parseTorrent as (b: Uint8Array) => Promise<unknown>)(bytes) as { infoHash: string; length: number; files: unknown[] }
  assert.equal(pt.infoHash, m.infoHash)
  assert.equal(pt.length, m.length)
  assert.equal(pt.files.length, m.files.length)

  const ours = join(tmp, 'ours.torrent')
  await writeFile(ours, bytes)
  assert.equal(await transmissionHash(ours), m.infoHash)

  // mktorrent: same data, same piece size (2^15), same private flag; its info dict has the same keys as ours.
  const theirs = join(tmp, 'mktorrent.torrent')
  await run('mktorrent', ['-a', ANNOUNCE, '-l', '15', '-p', '-o', theirs, data], { timeout: 30_000 })
  const mk = await parsed(new Uint8Array(await readFile(theirs)))
  assert.deepEqual(Buffer.from(mk.pieceHashes), Buffer.from(m.pieceHashes))
  assert.deepEqual(mk.files, m.files)
  assert.equal(mk.infoHash, m.infoHash)
})

test('a single file: name is the file name; transmission-show and mktorrent agree', { timeout: 60_000 }, async t => {
  const tmp = await mkdtemp(join(tmpdir(), 'tp-make1-'))
  t.after(() => rm(tmp, { recursive: true, force: true }))
  const file = join(tmp, 'movie.mkv')
  await writeFile(file, randomBytes(300_001))
  const byDefault = await parsed(await makeTorrent(file, { announce: ANNOUNCE }))
  assert.equal(byDefault.pieceLength, defaultPieceLength(300_001))
  // mktorrent's smallest piece is 2^15.
  const bytes = await makeTorrent(file, { announce: ANNOUNCE, pieceLength: 65_536 })
  const m = await parsed(bytes)
  assert.equal(m.name, 'movie.mkv')
  assert.deepEqual(m.files.map(f => [f.path, f.length]), [[['movie.mkv'], 300_001]])
  assert.equal(m.pieceCount, 5)
  assert.equal(m.lastPieceLength, 300_001 - 4 * 65_536)
  assert.deepEqual(m.announce, [ANNOUNCE])
  const ours = join(tmp, 'ours.torrent')
  await writeFile(ours, bytes)
  assert.equal(await transmissionHash(ours), m.infoHash)
  const theirs = join(tmp, 'mk.torrent')
  await run('mktorrent', ['-a', ANNOUNCE, '-l', String(Math.log2(m.pieceLength)), '-o', theirs, file], { timeout: 30_000 })
  const mk = await parsed(new Uint8Array(await readFile(theirs)))
  assert.equal(mk.infoHash, m.infoHash)
})

test('the name option renames the torrent', async t => {
  const tmp = await mkdtemp(join(tmpdir(), 'tp-make2-'))
  t.after(() => rm(tmp, { recursive: true, force: true }))
  await writeFile(join(tmp, 'x'), randomBytes(10))
  const m = await parsed(await makeTorrent(join(tmp, 'x'), { announce: ANNOUNCE, name: 'renamed.bin' }))
  assert.equal(m.name, 'renamed.bin')
  assert.deepEqual(m.files[0]?.path, ['renamed.bin'])
})

test('refusals: nothing to share, bad piece length, no tracker, unsafe name', async t => {
  const tmp = await mkdtemp(join(tmpdir(), 'tp-make3-'))
  t.after(() => rm(tmp, { recursive: true, force: true }))
  await mkdir(join(tmp, 'empty'))
  await assert.rejects(makeTorrent(join(tmp, 'empty'), { announce: ANNOUNCE }), /nothing to share/)
  await writeFile(join(tmp, 'f'), randomBytes(100))
  await assert.rejects(makeTorrent(join(tmp, 'f'), { announce: ANNOUNCE, pieceLength: 20_000 }), /power of two/)
  await assert.rejects(makeTorrent(join(tmp, 'f'), { announce: ANNOUNCE, pieceLength: 8192 }), /power of two/)
  await assert.rejects(makeTorrent(join(tmp, 'f'), { announce: [] }), /announce/)
  await assert.rejects(makeTorrent(join(tmp, 'f'), { announce: ANNOUNCE, name: '..' }), /would be refused/)
  await assert.rejects(makeTorrent(join(tmp, 'missing'), { announce: ANNOUNCE }), /ENOENT/)
})

test('defaultPieceLength keeps about 2048 pieces within 16 KiB..16 MiB', () => {
  assert.equal(defaultPieceLength(1), 16_384)
  assert.equal(defaultPieceLength(1024 ** 3), 512 * 1024)
  assert.equal(defaultPieceLength(2 ** 50), 16 * 1024 * 1024)
  for (const size of [1e3, 1e6, 1e8, 1e10]) {
    const pl = defaultPieceLength(size)
    assert.equal(pl & (pl - 1), 0)
    assert.ok(size / pl <= 2048 || pl === 16 * 1024 * 1024)
  }
})
