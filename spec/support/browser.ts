/**
 * Test harness for a real browser: Debian's headless Chromium driven by
 * playwright-core, with a fresh profile each launch, and a test video made by
 * ffmpeg from its built-in test pattern.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

const run = promisify(execFile)

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** A headless Chromium with a fresh profile of its own (its --user-data-dir, deleted on close). */
export async function launchChromium(): Promise<{ browser: BrowserContext; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/install-peers.sh (Debian package chromium)`)
  const profile = await mkdtemp(path.join(tmpdir(), 'tp-chromium-'))
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
    ],
  })
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {})
      await rm(profile, { recursive: true, force: true })
    },
  }
}

/**
 * Makes a WebM (VP8) of ffmpeg's test pattern: `seconds` long, a keyframe
 * every second (so a seek lands near where it asks), about `kbps` kilobits
 * per second, its index (cues) at the front.
 */
export async function makeTestVideo(file: string, seconds = 32, kbps = 400): Promise<void> {
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=duration=${seconds}:size=320x240:rate=24`,
    '-c:v', 'libvpx', '-b:v', `${kbps}k`, '-deadline', 'realtime', '-cpu-used', '8', '-g', '24',
    // the index first, as a file meant for streaming has it: a player need not fetch the end to start
    '-cues_to_front', '1',
    file,
  ])
}

/**
 * The page script a test runs in Chromium: a `<video>` on `src`, and helpers
 * on `window` to read its state.
 */
export const videoPage = (src: string): string => `<!doctype html><html><body style="margin:0;background:#000">
<video id="v" src="${src}" muted autoplay playsinline width="320" height="240"></video>
</body></html>`

/**
 * Spread of the grey levels of a PNG (decoded by ffmpeg): near 0 for a blank
 * (single-colour) image, tens for a picture.
 */
export async function pngSpread(png: Uint8Array, dir: string): Promise<number> {
  const file = path.join(dir, `shot-${process.pid}-${Date.now()}.png`)
  const { writeFile } = await import('node:fs/promises')
  await writeFile(file, png)
  try {
    const { stdout } = await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], {
      encoding: 'buffer',
      maxBuffer: 64 << 20,
    })
    const px = stdout as unknown as Buffer
    let sum = 0
    for (const v of px) sum += v
    const mean = sum / px.length
    let sq = 0
    for (const v of px) sq += (v - mean) ** 2
    return Math.sqrt(sq / px.length)
  } finally {
    await rm(file, { force: true })
  }
}

/** What the page's `<video id="v">` reports (read in the page; the specs have no DOM types). */
export interface VideoState {
  readonly currentTime: number
  readonly duration: number
  readonly readyState: number
  readonly error: string | null
}

type PageLike = Pick<import('playwright-core').Page, 'evaluate' | 'waitForFunction'>

/** The state of the page's video. */
export const videoState = (page: PageLike): Promise<VideoState> =>
  page.evaluate(
    `(() => { const v = document.getElementById('v'); return { currentTime: v.currentTime, duration: v.duration, readyState: v.readyState, error: v.error && (v.error.code + ' ' + v.error.message) } })()`,
  ) as Promise<VideoState>

/** Waits until the video plays past `seconds` (fails after `timeoutMs`, or at once if the video errors), looking every `pollMs`. */
export async function waitPlayedPast(page: PageLike, seconds: number, timeoutMs: number, pollMs = 100): Promise<void> {
  await page.waitForFunction(
    `(() => { const v = document.getElementById('v'); if (v.error) throw new Error('video error ' + v.error.code + ' ' + v.error.message); return v.currentTime > ${seconds} })()`,
    null,
    { timeout: timeoutMs, polling: pollMs },
  )
}

/** Seeks the video to `seconds`; resolves once it has (the `seeked` event) with the milliseconds that took, on the page's clock. */
export const seekVideoTimed = (page: PageLike, seconds: number): Promise<number> =>
  page.evaluate(
    `new Promise((resolve) => { const v = document.getElementById('v'); const t0 = performance.now(); v.addEventListener('seeked', () => resolve(performance.now() - t0), { once: true }); v.currentTime = ${seconds} })`,
  ) as Promise<number>

/** Seeks the video to `seconds`. */
export const seekVideo = (page: PageLike, seconds: number): Promise<unknown> =>
  page.evaluate(`(() => { document.getElementById('v').currentTime = ${seconds} })()`)
