/**
 * examples/radio-peer.ts for real: a station publishes three chunks, one
 * torrent each, seeded by aria2c (found through a tracker), listed in a feed
 * over HTTP, the last published after the peer started; the example, run as
 * its own process, writes the chunks to its stdout in order.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { readFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { makeTorrent } from '../../lib/maker/index.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { runExample } from './run-example.ts'

test('the radio peer plays the chunks of a feed in order as they are published', { timeout: 240_000 }, async (t) => {
  const tmp = await makeTempDir('h14-radio-')
  t.after(() => tmp.close())
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  const station = join(tmp.path, 'station')
  await mkdir(station, { recursive: true })
  const sizes = [300_000, 50_000, 200_000]
  const published: string[] = []
  const torrents = new Map<string, Uint8Array>()
  const publish = async (i: number) => {
    const name = `chunk-${i}.bin`
    await writeRandomFile(join(station, name), sizes[i]!)
    const bytes = await makeTorrent(join(station, name), { announce: [tracker.httpAnnounce], pieceLength: 16384 })
    const torrentPath = join(tmp.path, `${name}.torrent`)
    await import('node:fs/promises').then((fs) => fs.writeFile(torrentPath, bytes))
    // the middle chunk is seeded slowest, so chunks complete out of order
    const seeder = await startAria2Seeder({ torrentPath, dir: station, maxUploadBytesPerSec: i === 0 ? 60_000 : 400_000, logLevel: 'warn' })
    t.after(() => seeder.close())
    torrents.set(`${name}.torrent`, bytes)
    published.push(`${name}.torrent`)
  }
  const feed = createServer((req, res) => {
    const path = (req.url ?? '/').slice(1)
    if (path === 'feed.txt') return void res.end(published.join('\n') + '\n')
    const bytes = torrents.get(path)
    if (bytes === undefined) return void res.writeHead(404).end()
    res.end(bytes)
  })
  await new Promise<void>((r) => feed.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => feed.close(() => r())))
  const feedUrl = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/feed.txt`
  await publish(0)
  await publish(1)

  const run = runExample(t, 'radio-peer.ts', [feedUrl, join(tmp.path, 'radio'), '300'])
  await pollUntil(() => run.err().includes('played chunk 0') || undefined, { timeoutMs: 120_000, what: 'chunk 0 played', explain: run.err })
  await publish(2) // published while the peer runs
  await pollUntil(() => run.err().includes('played chunk 2') || undefined, { timeoutMs: 120_000, what: 'chunk 2 played', explain: run.err })
  const expected = Buffer.concat(await Promise.all([0, 1, 2].map((i) => readFile(join(station, `chunk-${i}.bin`)))))
  assert.deepEqual(Buffer.concat(run.out), expected)
  assert.match(run.err(), /played chunk 0 \(chunk-0\.bin\)\nplayed chunk 1 \(chunk-1\.bin\)\nplayed chunk 2 \(chunk-2\.bin\)\n/)
})
