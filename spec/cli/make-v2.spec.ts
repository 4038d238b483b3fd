/**
 * `make --v2` / `make --hybrid` and `info` on v2 and hybrid torrents, with
 * libtorrent 2.0.8 as the oracle for the info hashes, and sizes that count the
 * files' own bytes (never pad files).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeRandomTree } from '../support/peers/data.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { ltInspect } from '../support/peers/libtorrent-oracle.ts'
import { jsonLines, oneLineError, runCli } from './support.ts'

for (const flag of ['--v2', '--hybrid'] as const) {
  test(`make ${flag}, then info: version, both hashes as libtorrent reads them, real size`, { timeout: 90_000 }, async (t) => {
    const tmp = await makeTempDir('h20-cli-')
    t.after(() => tmp.close())
    const tree = await makeRandomTree(join(tmp.path, 'album'), { totalBytes: 300_000, fileCount: 3 })
    const out = join(tmp.path, 'album.torrent')
    const made = await runCli(['make', tree.root, '--announce', 'http://127.0.0.1:1/announce', '-o', out, '-l', '16384', flag])
    assert.equal(made.code, 0, made.stderr)
    const lt = await ltInspect(out)
    const r = await runCli(['info', out, '--json'])
    assert.equal(r.code, 0, r.stderr)
    const [info] = jsonLines(r.stdout) as [Record<string, unknown>]
    assert.equal(info['version'], flag === '--v2' ? 'v2' : 'hybrid')
    assert.equal(info['infohashV2'], lt.v2)
    assert.equal(info['infohashV1'], lt.v1)
    assert.equal(info['size'], tree.totalBytes)
    assert.ok(lt.total > tree.totalBytes, 'libtorrent counts the pad files in its total')
    assert.ok(made.stdout.includes(lt.v2 as string), made.stdout)
    const text = await runCli(['info', out])
    assert.match(text.stdout, new RegExp(`^v2 hash:  ${lt.v2 as string}$`, 'm'))
    assert.match(text.stdout, new RegExp(`^size:     .* \\(${tree.totalBytes} bytes\\)$`, 'm'))
  })
}

test('info on libtorrent\'s hybrid counts the files, not the pad files', { timeout: 30_000 }, async () => {
  const dir = join(process.env['PEER_SUITES'] ?? join(import.meta.dirname, '../../../shared/peer-suites'), 'libtorrent-test-torrents')
  const file = join(dir, 'v2_hybrid.torrent')
  const lt = await ltInspect(file)
  const r = await runCli(['info', file, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const [info] = jsonLines(r.stdout) as [Record<string, unknown>]
  const real = lt.files.filter(f => !f.pad).reduce((n, f) => n + f.size, 0)
  assert.equal(info['size'], real)
  assert.ok(real < lt.total)
  assert.equal(info['infohash'], lt.v1)
  assert.equal(info['infohashV2'], lt.v2)
})

test('make --v2 --hybrid is a usage error', { timeout: 30_000 }, async (t) => {
  const tmp = await makeTempDir('h20-cli-')
  t.after(() => tmp.close())
  const r = await runCli(['make', tmp.path, '--announce', 'http://127.0.0.1:1/announce', '--v2', '--hybrid'])
  assert.equal(r.code, 2)
  assert.match(oneLineError(r), /--v2 and --hybrid exclude each other/)
})
