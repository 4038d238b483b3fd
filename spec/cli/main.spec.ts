import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { makeRandomTree } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { transmissionShow } from '../support/peers/transmission.ts'
import { jsonLines, oneLineError, runCli } from './support.ts'

test('--help for every command, and the overview', { timeout: 60_000 }, async () => {
  const overview = await runCli(['--help'])
  assert.equal(overview.code, 0)
  for (const cmd of ['get', 'seed', 'make', 'info', 'demo']) {
    assert.match(overview.stdout, new RegExp(`^  ${cmd} `, 'm'))
    const r = await runCli([cmd, '--help'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^Usage: torrent-patron ${cmd}`))
    assert.equal(r.stderr, '')
  }
})

test('info on a torrent made by mktorrent agrees with transmission-show', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('cli-info-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'payload'), { totalBytes: 600_000, fileCount: 4 })
  const made = await mktorrent(tree.root, join(tmp.path, 'p.torrent'), {
    announce: ['http://127.0.0.1:6969/announce', 'udp://127.0.0.1:6969'],
    pieceLengthLog2: 15
  })
  const shown = await transmissionShow(made.path)
  const r = await runCli(['info', made.path, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const [info] = jsonLines(r.stdout) as [Record<string, unknown>]
  assert.equal(info['infohash'], shown.hash)
  assert.equal(info['name'], 'payload')
  assert.equal(info['size'], tree.totalBytes)
  assert.equal(info['pieceLength'], 1 << 15)
  assert.deepEqual(info['trackers'], ['http://127.0.0.1:6969/announce', 'udp://127.0.0.1:6969'])
  assert.deepEqual(
    (info['files'] as Array<{ path: string }>).map((f) => f.path).sort(),
    tree.files.map((f) => `payload/${f.path}`).sort()
  )
  const text = await runCli(['info', made.path])
  assert.equal(text.code, 0)
  assert.match(text.stdout, new RegExp(`^infohash: ${shown.hash}$`, 'm'))
  assert.match(text.stdout, /^files: {4}4$/m)
  assert.match(text.stdout, /^pieces: {3}\d+ x 32.0 KiB$/m)
})

test('make then info: the torrent describes the data', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('cli-make-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'album'), { totalBytes: 300_000, fileCount: 3 })
  const out = join(tmp.path, 'album.torrent')
  const made = await runCli(['make', tree.root, '--announce', 'http://127.0.0.1:1/announce', '-o', out, '--comment', 'hi'])
  assert.equal(made.code, 0, made.stderr)
  assert.match(made.stdout, /^wrote .*album\.torrent \([0-9a-f]{40}, /)
  const r = await runCli(['info', out, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const [info] = jsonLines(r.stdout) as [Record<string, unknown>]
  assert.equal(info['name'], 'album')
  assert.equal(info['size'], tree.totalBytes)
  assert.deepEqual(info['trackers'], ['http://127.0.0.1:1/announce'])
  assert.equal((await transmissionShow(out)).hash, info['infohash'])
  assert.ok(made.stdout.includes(info['infohash'] as string))
})

test('info on a magnet link', { timeout: 30_000 }, async () => {
  const hash = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a'
  const r = await runCli(['info', `magnet:?xt=urn:btih:${hash}&dn=thing&tr=http%3A%2F%2F127.0.0.1%3A1%2Fannounce`, '--json'])
  assert.equal(r.code, 0, r.stderr)
  const [info] = jsonLines(r.stdout) as [Record<string, unknown>]
  assert.equal(info['infohash'], hash)
  assert.equal(info['name'], 'thing')
  assert.deepEqual(info['trackers'], ['http://127.0.0.1:1/announce'])
})

test('bad input: one line on stderr, the right exit code, no stack trace', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('cli-bad-')
  t.after(() => tmp.close())
  const garbage = join(tmp.path, 'garbage.torrent')
  await writeFile(garbage, 'this is not bencode')
  const plain = join(tmp.path, 'plain-file')
  await writeFile(plain, 'x')
  const good = join(tmp.path, 'good.torrent')
  assert.equal((await runCli(['make', plain, '-a', 'http://127.0.0.1:1/announce', '-o', good])).code, 0)
  // a port that is taken for as long as the test runs
  const blocker = createServer()
  await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', () => r()))
  t.after(() => new Promise<void>((r) => blocker.close(() => r())))
  const taken = (blocker.address() as { port: number }).port

  const cases: Array<{ args: string[]; code: number; message: RegExp }> = [
    { args: ['info', join(tmp.path, 'missing.torrent')], code: 1, message: /cannot read .*missing\.torrent: no such file or directory$/ },
    { args: ['get', join(tmp.path, 'missing.torrent')], code: 1, message: /cannot read .*missing\.torrent: no such file or directory$/ },
    // --no-dht is a known flag of get and seed (the file error comes first, not "unknown option").
    { args: ['get', join(tmp.path, 'missing.torrent'), '--no-dht'], code: 1, message: /cannot read .*missing\.torrent: no such file or directory$/ },
    { args: ['seed', join(tmp.path, 'nothing-here'), '--no-dht'], code: 1, message: /cannot read .*nothing-here: no such file or directory$/ },
    { args: ['get', join(tmp.path, 'missing.torrent'), '--no-dht=yes'], code: 2, message: /no-dht/ },
    { args: ['info', garbage], code: 1, message: /garbage\.torrent is not a valid torrent: / },
    { args: ['get', garbage], code: 1, message: /garbage\.torrent is not a valid torrent: / },
    { args: ['info', 'magnet:?xt=urn:btih:nothex'], code: 1, message: /not a valid magnet link/ },
    { args: ['get', good, '--out', join(plain, 'sub')], code: 1, message: /cannot write to .*plain-file\/sub: not a directory$/ },
    { args: ['get', good, '--out', plain], code: 1, message: /cannot write to .*plain-file: not a directory$/ },
    { args: ['get', good, '--out', tmp.path, '--port', String(taken)], code: 1, message: new RegExp(`port ${taken} is not available`) },
    { args: ['get', good, '--port', 'abc'], code: 2, message: /--port wants a number/ },
    { args: ['get', good, '--peer', 'nohostport'], code: 2, message: /--peer wants HOST:PORT/ },
    { args: ['get'], code: 2, message: /missing torrent file or magnet link \(see: torrent-patron get --help\)$/ },
    { args: ['get', good, '--frobnicate'], code: 2, message: /unknown option --frobnicate/ },
    { args: ['make', plain], code: 2, message: /--announce URL is required/ },
    { args: ['make', join(tmp.path, 'nothing-here'), '-a', 'http://x/a'], code: 1, message: /cannot read .*nothing-here: no such file or directory$/ },
    { args: ['seed', join(tmp.path, 'nothing-here')], code: 1, message: /cannot read .*nothing-here: no such file or directory$/ },
    { args: ['frobnicate'], code: 2, message: /unknown command "frobnicate"/ },
    { args: ['demo', '--size', '-3'], code: 2, message: /--size/ }
  ]
  for (const c of cases) {
    const r = await runCli(c.args, { cwd: tmp.path })
    const line = oneLineError(r)
    assert.equal(r.code, c.code, `${c.args.join(' ')}: ${line}`)
    assert.match(line, c.message, c.args.join(' '))
  }
})
