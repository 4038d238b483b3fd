/**
 * The browser harness works: Chromium plays a WebM made by ffmpeg from the
 * project's HTTP server (files on disk), seeks, and shows a decoded frame.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { launchChromium, makeTestVideo, pngSpread, seekVideo, videoPage, videoState, waitPlayedPast } from './browser.ts'
import { startStreamServer, type ServedTorrent } from '../../lib/stream/http-server.ts'

test('Chromium plays, seeks and shows a frame of a WebM served over HTTP with ranges', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tp-browser-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'clip.webm')
  await makeTestVideo(file, 30)
  const size = (await stat(file)).size
  const served: ServedTorrent = {
    id: 'disk',
    name: 'disk',
    files: () => [{ name: 'clip.webm', length: size }],
    createReadStream: (_i, { start, end }) => createReadStream(file, { start, end: end - 1 }),
    progress: () => ({ fractionDone: 1 }),
  }
  const srv = await startStreamServer({ list: () => [served] })
  t.after(() => srv.close())
  const { browser, close } = await launchChromium()
  t.after(close)
  const page = await browser.newPage()
  await page.goto(`${srv.url}/`)
  await page.setContent(videoPage(srv.fileUrl(served, 0)))
  await waitPlayedPast(page, 1, 60_000)
  const { duration } = await videoState(page)
  assert.ok(duration >= 29, `duration ${duration}`)
  await seekVideo(page, duration * 0.8)
  await waitPlayedPast(page, duration * 0.8 + 0.5, 60_000)
  const shot = await page.locator('#v').screenshot()
  assert.ok((await pngSpread(shot, dir)) > 20, 'the screenshot shows a picture, not a blank frame')
})
