/**
 * A real browser plays a video while its torrent downloads: headless
 * Chromium opens a page whose <video> streams from the project's HTTP server,
 * the engine downloading from an aria2c seeder limited so the whole takes
 * about 25 s (20 s or more is asserted). The video plays before a quarter is downloaded, a seek to
 * 80% plays within a bound, a screenshot shows a decoded frame, and the file
 * ends byte-identical.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTempDir } from '../support/peers/tmp.ts'
import { launchChromium, makeTestVideo, pngSpread, seekVideo, videoPage, videoState, waitPlayedPast } from '../support/browser.ts'
import { seed, serve, start } from './fixture.ts'

test('Chromium plays, seeks and shows a frame of a video still downloading', { timeout: 300_000 }, async (t) => {
  const tmp = await makeTempDir('h14-video-')
  t.after(() => tmp.close())
  await mkdir(join(tmp.path, 'seed'), { recursive: true })
  const video = join(tmp.path, 'seed', 'clip.webm')
  await makeTestVideo(video, 48, 300)
  const size = (await stat(video)).size
  // the whole download takes about 25 s: slower than the file's bytes could come, faster than it plays
  // (Chromium starts playing once it expects to play through, so a download slower than playback waits)
  const rate = Math.floor(size / 25)
  const { bytes, seeder } = await seed(t, video, join(tmp.path, 'clip.torrent'), rate, 32768)
  // the browser is up before the download starts (it takes seconds to launch on a loaded machine)
  const { browser, close } = await launchChromium()
  t.after(close)
  const page = await browser.newPage()
  const started = Date.now()
  const run = await start(t, bytes, join(tmp.path, 'out'), [seeder.peer])
  const { srv, served } = await serve(t, run, 'clip')
  // what the browser asked for, and when (shown when the test fails)
  const asked: string[] = []
  const plain = served.createReadStream
  served.createReadStream = (file, range) => {
    asked.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${range.start}-${range.end} at ${((run.stats()?.fractionDone ?? 0) * 100).toFixed(0)}%`)
    return plain(file, range)
  }
  await page.goto(`${srv.url}/`)
  await page.setContent(videoPage(srv.fileUrl(served, 0)))

  await waitPlayedPast(page, 0.1, 120_000)
  const atPlay = run.stats()?.fractionDone ?? 1
  assert.ok(atPlay < 0.25, `the video played only once ${atPlay} of the torrent was downloaded; requests: ${asked.join(', ')}`)

  const { duration } = await videoState(page)
  assert.ok(duration >= 47, `duration ${duration}`)
  const seekAt = Date.now()
  await seekVideo(page, duration * 0.8)
  await waitPlayedPast(page, duration * 0.8 + 0.5, 90_000) // the bound: 90 s on a loaded machine
  const seekMs = Date.now() - seekAt
  const shot = await page.locator('#v').screenshot()
  assert.ok((await pngSpread(shot, tmp.path)) > 20, 'the screenshot shows a decoded picture, not a blank frame')

  await run.complete(240_000)
  const whole = (Date.now() - started) / 1000
  assert.deepEqual(await readFile(join(tmp.path, 'out', 'clip.webm')), await readFile(video))
  t.diagnostic(`played at ${(atPlay * 100).toFixed(1)}% downloaded; seek to 80% played after ${seekMs} ms; whole download ${whole.toFixed(1)} s`)
  assert.ok(whole >= 20, `the download took ${whole} s: the seeder's limit did not hold`)
})
