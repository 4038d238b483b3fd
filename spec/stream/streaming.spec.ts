/**
 * Reading while downloading, for real: aria2c seeds at a limited rate, the
 * engine downloads, and HTTP range requests at random offsets (served by the
 * project's server from the engine's read streams) return the source bytes
 * long before the download ends; bad input gets clear answers and leaves
 * nothing behind.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { seed, serve, start } from './fixture.ts'

const SIZE = 6 << 20 // 96 pieces of 64 KiB
const RATE = 300_000 // about 20 s for the whole

/** aria2c seeding SIZE random bytes at RATE, the engine downloading them, the HTTP server on top. */
async function downloading(t: { after(fn: () => unknown): void }, prefix: string) {
  const tmp = await makeTempDir(prefix)
  t.after(() => tmp.close())
  const file = join(tmp.path, 'seed', 'data.bin')
  await writeRandomFile(file, SIZE)
  const source = new Uint8Array(await readFile(file))
  const { bytes, seeder } = await seed(t, file, join(tmp.path, 'data.torrent'), RATE)
  const run = await start(t, bytes, join(tmp.path, 'out'), [seeder.peer])
  const { srv, served } = await serve(t, run)
  return { tmp, source, run, srv, url: srv.fileUrl(served, 0) }
}

test('range requests at random offsets while the torrent downloads return the source bytes, before the end', { timeout: 240_000 }, async (t) => {
  const { tmp, source, run, srv, url } = await downloading(t, 'h14-ranges-')
  const fractions: number[] = []
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: SIZE - 1 }), fc.integer({ min: 1, max: 200_000 }), async (start, n) => {
      const last = Math.min(SIZE - 1, start + n - 1)
      const res = await fetch(url, { headers: { Range: `bytes=${start}-${last}` } })
      assert.equal(res.status, 206)
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${last}/${SIZE}`)
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), source.subarray(start, last + 1))
      fractions.push(run.stats()?.fractionDone ?? 0)
    }),
    { numRuns: 6 },
  )
  // the window brought each range in ahead of the normal order: the first ones were served with most of the torrent missing
  assert.ok(fractions[0]! < 0.5, `first range served at ${fractions[0]} done`)
  const done = await run.complete(120_000)
  assert.equal(done.fractionDone, 1)
  assert.deepEqual(new Uint8Array(await readFile(join(tmp.path, 'out', 'data.bin'))), source)
  assert.equal(run.streams.readers(), 0)
  assert.equal(run.streams.active(), false)
})

test('bad input while streaming: no such file, 416, a client that leaves, 50 readers, the torrent closed', { timeout: 240_000 }, async (t) => {
  const { tmp, source, run, srv, url } = await downloading(t, 'h14-bad-')

  assert.throws(() => run.streams.createReadStream(1), /no file #1: the torrent has 1/)
  assert.throws(() => run.streams.createReadStream('nope.bin'), /no file named "nope.bin"; the torrent has data.bin/)
  assert.equal((await fetch(`${srv.url}/${run.id}/1/x`)).status, 404)
  const past = await fetch(url, { headers: { Range: `bytes=${SIZE}-` } })
  assert.equal(past.status, 416)
  assert.equal(past.headers.get('content-range'), `bytes */${SIZE}`)

  // a client that leaves mid-stream: its reader and window go
  const abort = new AbortController()
  const res = await fetch(url, { headers: { Range: 'bytes=3000000-' }, signal: abort.signal })
  const reader = res.body!.getReader()
  await reader.read()
  assert.equal(run.streams.readers(), 1)
  abort.abort()
  await pollUntil(() => run.streams.readers() === 0 && srv.activeResponses() === 0, { timeoutMs: 10_000, what: 'reader gone' })
  assert.equal(run.streams.waiting(), 0)
  assert.equal(run.streams.active(), false)

  // 50 concurrent readers of one file
  const starts = Array.from({ length: 50 }, (_, i) => i * 20_000)
  const got = await Promise.all(starts.map(async (s) => new Uint8Array(await (await fetch(url, { headers: { Range: `bytes=${s}-${s + 49_999}` } })).arrayBuffer())))
  got.forEach((g, i) => assert.deepEqual(g, source.subarray(starts[i], starts[i]! + 50_000)))

  // the torrent closed while a reader waits: the stream ends with an error saying why
  assert.ok((run.stats()?.fractionDone ?? 0) < 1, 'still downloading')
  const waiting = run.streams.createReadStream(0)
  const failed = new Promise<Error>((resolve) => waiting.once('error', resolve))
  waiting.resume()
  run.close()
  assert.match((await failed).message, /torrent closed/)
  assert.throws(() => run.streams.createReadStream(0), /torrent closed/)
})
