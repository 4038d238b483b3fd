/**
 * `torrent-patron stream`: prints the URL of the chosen file and serves it
 * with ranges while it downloads from aria2c; bad --file values and a second
 * positional get one-line errors; Ctrl-C ends it with exit 0.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { seed } from '../stream/fixture.ts'
import { oneLineError, runCli, startCli } from './support.ts'

test('stream serves the chosen file by URL while it downloads; Ctrl-C ends it', { timeout: 180_000 }, async (t) => {
  const tmp = await makeTempDir('h14-cli-stream-')
  t.after(() => tmp.close())
  const file = join(tmp.path, 'seed', 'movie.bin')
  await writeRandomFile(file, 3 << 20)
  const { seeder } = await seed(t, file, join(tmp.path, 'movie.torrent'), 300_000)
  const p = startCli(['stream', join(tmp.path, 'movie.torrent'), '--file', 'movie.bin', '--port', '0', '-p', seeder.peer, '-o', join(tmp.path, 'out'), '--no-dht'])
  t.after(() => p.kill())
  const url = await p.waitForLine((l) => l.startsWith('http://127.0.0.1:'), 60_000)
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{24}\/0\/movie\.bin$/)
  const source = await readFile(file)
  const res = await fetch(url, { headers: { Range: 'bytes=2000000-2100000' } })
  assert.equal(res.status, 206)
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), source.subarray(2_000_000, 2_100_001))
  p.child.kill('SIGINT')
  const r = await p.exited
  assert.equal(r.code, 0, r.stderr)
})

test('stream: bad input gets one line', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('h14-cli-stream-bad-')
  t.after(() => tmp.close())
  const file = join(tmp.path, 'seed', 'movie.bin')
  await writeRandomFile(file, 100_000)
  await seed(t, file, join(tmp.path, 'movie.torrent'), 1_000_000)
  const noFile = await runCli(['stream', join(tmp.path, 'movie.torrent'), '--file', 'nope.mkv', '-o', join(tmp.path, 'out'), '--no-dht'], { timeoutMs: 60_000 })
  assert.notEqual(noFile.code, 0)
  assert.match(oneLineError(noFile), /no file named "nope.mkv"; the torrent has movie.bin/)
  const noIndex = await runCli(['stream', join(tmp.path, 'movie.torrent'), '--file', '3', '-o', join(tmp.path, 'out2'), '--no-dht'], { timeoutMs: 60_000 })
  assert.match(oneLineError(noIndex), /no file #3: the torrent has 1/)
  const two = await runCli(['stream', 'a.torrent', 'b.torrent'])
  assert.equal(two.code, 2)
  assert.match(oneLineError(two), /unexpected argument "b.torrent"/)
  assert.match((await runCli(['stream', '--help'])).stdout, /--file N\|NAME/)
})
