/**
 * examples/album-player.ts for real: two albums (torrents of several files),
 * each seeded by aria2c (found through a tracker), the first slowly and with
 * a file not picked; the example, run as its own process, writes the picked
 * tracks to its stdout in album order, then file order.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { runExample } from './run-example.ts'

test('the album player plays the picked tracks of its albums in order as they complete', { timeout: 240_000 }, async (t) => {
  const tmp = await makeTempDir('s14-album-')
  t.after(() => tmp.close())
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  const albums = [
    { name: 'first', sizes: [200_000, 90_000, 300_000, 150_000], rate: 150_000 },
    { name: 'second', sizes: [120_000, 40_000], rate: 1_000_000 },
  ]
  const args: string[] = []
  for (const [i, a] of albums.entries()) {
    const dir = join(tmp.path, 'station', a.name)
    await mkdir(dir, { recursive: true })
    for (const [k, size] of a.sizes.entries()) await writeRandomFile(join(dir, `track-${k}.bin`), size)
    const torrentPath = join(tmp.path, `${a.name}.torrent`)
    await writeFile(torrentPath, await makeTorrent(dir, { announce: [tracker.httpAnnounce], pieceLength: 16384 }))
    const seeder = await startAria2Seeder({ torrentPath, dir: join(tmp.path, 'station'), maxUploadBytesPerSec: a.rate, logLevel: 'warn' })
    t.after(() => seeder.close())
    args.push(i === 0 ? `${torrentPath}#0,1,3` : torrentPath)
  }

  const folder = join(tmp.path, 'albums')
  const run = runExample(t, 'album-player.ts', [folder, ...args])
  await pollUntil(() => run.err().includes('all played') || undefined, { timeoutMs: 180_000, what: 'all played', explain: run.err })
  const track = (a: string, k: number) => readFile(join(tmp.path, 'station', a, `track-${k}.bin`))
  const expected = Buffer.concat(await Promise.all([track('first', 0), track('first', 1), track('first', 3), track('second', 0), track('second', 1)]))
  assert.ok(Buffer.concat(run.out).equals(expected), 'stdout is the picked tracks, in order')
  assert.match(
    run.err(),
    /played album 0 track 0 \(first\/track-0\.bin\)\nplayed album 0 track 1 \(first\/track-1\.bin\)\nplayed album 0 track 3 \(first\/track-3\.bin\)\nplayed album 1 track 0 \(second\/track-0\.bin\)\nplayed album 1 track 1 \(second\/track-1\.bin\)\nall played\n/,
  )
  assert.equal(existsSync(join(folder, 'first', 'track-2.bin')), false, 'the track not picked is not downloaded')
})
