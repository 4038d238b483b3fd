/**
 * Streaming benchmark: torrent-patron's HTTP server against WebTorrent
 * 2.8.5's own, on the same video from the same aria2c seeder in the same run.
 * From a cold start (a fresh process and an empty folder, each run) and for
 * a .torrent file and a magnet link:
 *
 * - time to first byte: spawn to the first byte of `GET <file url>`;
 * - time to a playable start: spawn to a headless Chromium <video> on the URL
 *   playing past 0.1 s;
 * - seek latency: from setting currentTime to 80% to playing 0.5 s past it
 *   (polled every 20 ms), and to the video's `seeked` event (the data at the
 *   new position is there; timed in the page); for torrent-patron also how
 *   long its server took from the seek's request to its first byte, and
 *   whether its download was complete when the seek came (each run's line:
 *   `seekAtMs` and `doneMs` from the spawn, `completeAtSeek`).
 *
 * Then the whole download with one reader streaming from the start, against
 * the same download with no reader (the deadline window must cost < 10%).
 *
 * `--whole-only` runs only the whole download, `--video-only` only the video
 * figures; `--readers http,curl,engine` runs
 * it with each kind of reader (node:http in this process; curl; inside the
 * engine's process, no HTTP)
 * beside the run with none, in turn within each run, so the machine's load
 * falls on all alike; each line also gives the engine process's CPU time.
 * `--whole-rate BYTES_PER_SEC` limits the whole download's seeder (unlimited
 * by default: then the download is CPU-bound on a small machine, and a reader
 * that costs CPU slows it whatever the engine does).
 * `--ab DIR` also runs the engine of the checkout at DIR ("before"), its
 * runs alternating with this tree's (in the video figures, as a third
 * contender).
 *
 *   node --import tsx bench/stream.ts [--runs N] [--rate BYTES_PER_SEC] [--seconds VIDEO_SECONDS] [--whole-only | --video-only] [--readers http,curl,engine] [--whole-rate BYTES_PER_SEC] [--no-jitter] [--ab DIR]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { tmpdir } from 'node:os'
import { get } from 'node:http'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { makeTorrent } from '../lib/maker/index.ts'
import { parseMetainfo } from '../lib/engine/metainfo/index.ts'
import { launchChromium, makeTestVideo, seekVideoTimed, videoPage, waitPlayedPast } from '../spec/support/browser.ts'
import { killOnExit } from './lib/children.ts'
import { engineChild, engineRuntimeNote } from './lib/compiled.ts'
import { ensureDataset } from './lib/data.ts'
import { freePort, waitForPort } from './lib/net.ts'
import { procSnapshot } from './lib/measure.ts'
import { projectRoot } from './lib/paths.ts'
import { checkoutLabel } from './lib/ab.ts'
import { ensureWebtorrent, webtorrentDir } from './lib/webtorrent.ts'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '2000000' },
    seconds: { type: 'string', default: '40' },
    'whole-only': { type: 'boolean', default: false },
    'video-only': { type: 'boolean', default: false },
    readers: { type: 'string', default: 'http,curl,engine' },
    'whole-rate': { type: 'string', default: '0' },
    'no-jitter': { type: 'boolean', default: false },
    ab: { type: 'string' },
  },
})
const RUNS = Number(values.runs)
const RATE = Number(values.rate)
const JITTER = !values['no-jitter'] // a random 0-1 s wait before each launch (see launch)
const WHOLE_RATE = Number(values['whole-rate']) // the whole download's seeder limit, bytes/s; 0: none
const WHOLE = 128 << 20 // bytes of the whole-download comparison
type Reader = 'none' | 'http' | 'curl' | 'engine'
const readers: Reader[] = ['none', ...(values.readers ?? 'http,curl,engine').split(',').map((r) => {
  if (r !== 'http' && r !== 'curl' && r !== 'engine') throw new Error(`--readers takes http, curl and/or engine, not ${r}`)
  return r as Reader
})]

const work = join(tmpdir(), 'tp-bench-stream')
await mkdir(join(work, 'seed'), { recursive: true })
const video = join(work, 'seed', 'clip.webm')
if (!existsSync(video)) {
  console.log(`[bench] making a ${values.seconds} s test video with ffmpeg ...`)
  await makeTestVideo(video, Number(values.seconds), 1200)
}
const size = (await stat(video)).size
const torrentPath = join(work, 'clip.torrent')
const torrentBytes = await makeTorrent(video, { announce: ['http://127.0.0.1:9/announce'], pieceLength: 65536 })
await writeFile(torrentPath, torrentBytes)
const meta = await parseMetainfo(torrentBytes)
if (!meta.ok) throw new Error(meta.reason)

const seedPort = await freePort()
const seeder = killOnExit(
  spawn('aria2c', [
    '-d', join(work, 'seed'), '--bt-seed-unverified=true', '--seed-ratio=0.0', `--listen-port=${seedPort}`, '--file-allocation=none',
    '--bt-max-peers=0', '--enable-dht=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', `--max-upload-limit=${RATE}`,
    '--console-log-level=error', '--summary-interval=0', torrentPath,
  ], { stdio: 'ignore' }),
)
await waitForPort(seedPort)
const peer = `127.0.0.1:${seedPort}`
const magnet = `magnet:?xt=urn:btih:${meta.value.infoHash}&dn=clip.webm&x.pe=${peer}`
const wtVersion = ensureWebtorrent()

type Source = 'torrent' | 'magnet'
interface Contender {
  readonly name: string
  command(source: Source, out: string): [string, string[]]
}
const contenders: Contender[] = [
  {
    name: 'torrent-patron',
    command: (source, out) => [process.execPath, [...engineChild('stream-engine'), ...(source === 'torrent' ? ['--torrent', torrentPath] : ['--magnet', magnet]), '--out', out, '--peer', peer, '--trace']],
  },
  // --ab DIR: the engine of the checkout at DIR too, as a third contender (its stream-engine may not know --trace)
  ...(values.ab === undefined
    ? []
    : [{
        name: `torrent-patron before (${checkoutLabel(resolve(values.ab))})`,
        command: (source: Source, out: string): [string, string[]] => [process.execPath, [...engineChild('stream-engine', undefined, resolve(values.ab!)), ...(source === 'torrent' ? ['--torrent', torrentPath] : ['--magnet', magnet]), '--out', out, '--peer', peer]],
      }]),
  {
    name: `webtorrent ${wtVersion}`,
    command: (source, out) => [process.execPath, [join(webtorrentDir, 'stream.mjs'), ...(source === 'torrent' ? ['--torrent', torrentPath] : ['--magnet', magnet]), '--out', out, '--peer', peer]],
  },
]

/** Starts a contender cold; resolves with its file URL and the spawn time; `reads` collects its server's --trace lines. */
async function launch(c: Contender, source: Source): Promise<{ child: ChildProcess; url: string; t0: number; out: string; reads: Array<{ start: number; firstByteMs: number }>; done: { at?: number } }> {
  const out = join(work, `out-${Math.random().toString(36).slice(2)}`)
  await mkdir(out, { recursive: true })
  const [cmd, args] = c.command(source, out)
  // a random wait first: aria2c takes new connections on its own timers, so without it each contender's
  // start would fall on the same phase of them run after run (the runs' timings repeat), a bias, not noise
  if (JITTER) await new Promise((r) => setTimeout(r, Math.random() * 1000))
  const t0 = performance.now()
  const child = killOnExit(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: projectRoot, env: { ...process.env, TORRENT_PATRON_DHT: 'off', TORRENT_PATRON_PORT_MAPPING: 'off' } }))
  const reads: Array<{ start: number; firstByteMs: number }> = []
  /** When the contender said its download was complete (performance.now()). */
  const done: { at?: number } = {}
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const m = JSON.parse(line) as { event?: string; url?: string; start?: number; firstByteMs?: number }
        if (m.event === 'listening' && m.url !== undefined) resolve(m.url)
        if (m.event === 'read') reads.push({ start: m.start!, firstByteMs: m.firstByteMs! })
        if (m.event === 'done') done.at ??= performance.now()
      } catch {
        /* not ours */
      }
    })
    child.once('exit', (code) => reject(new Error(`${c.name} exited (${code}) before serving`)))
  })
  return { child, url, t0, out, reads, done }
}

async function stop(run: { child: ChildProcess; out: string }): Promise<void> {
  // SIGTERM first (the engine child then exits normally, writing a --cpu-prof profile if asked), SIGKILL after 3 s
  const gone = new Promise<void>((r) => (run.child.exitCode !== null || run.child.signalCode !== null ? r() : run.child.once('exit', () => r())))
  run.child.kill('SIGTERM')
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 3000)
  await gone
  clearTimeout(timer)
  await rm(run.out, { recursive: true, force: true })
}

const whole: Array<{ side: string; reader: Reader; ms: number; cpuMs: number; readerCpuMs?: number }> = []
/** CPU ms of a live process, or undefined once it is gone. */
const procCpuMs = (pid: number): number | undefined => {
  try {
    return Math.round(procSnapshot(pid).cpuS * 1000)
  } catch {
    return undefined
  }
}
const results: Array<{ contender: string; source: Source; ttfbMs: number; playableMs: number; seekMs: number; seekedMs: number; serveMs?: number }> = []
const { browser, close } = await launchChromium()
try {
  for (let r = 0; r < (values['whole-only'] ? 0 : RUNS); r++) {
    for (const source of ['torrent', 'magnet'] as const) {
      for (const c of contenders) {
        const a = await launch(c, source)
        const res = await fetch(a.url)
        const reader = res.body!.getReader()
        await reader.read()
        const ttfbMs = performance.now() - a.t0
        await reader.cancel()
        await stop(a)

        const b = await launch(c, source)
        const page = await browser.newPage()
        await page.setContent(videoPage(b.url))
        await waitPlayedPast(page, 0.1, 120_000, 20)
        const playableMs = performance.now() - b.t0
        const duration = Number(await page.evaluate(`document.getElementById('v').duration`))
        const readsBefore = b.reads.length
        const seekAt = performance.now()
        const seekedMs = await seekVideoTimed(page, duration * 0.8)
        await waitPlayedPast(page, duration * 0.8 + 0.5, 120_000, 20)
        const seekMs = performance.now() - seekAt
        // the server's first read at or past the seek's position: request to first byte
        const served = b.reads.slice(readsBefore).find((r) => r.start >= size * 0.6)
        await page.close()
        await stop(b)
        const row = {
          contender: c.name, source, ttfbMs: Math.round(ttfbMs), playableMs: Math.round(playableMs), seekMs: Math.round(seekMs), seekedMs: Math.round(seekedMs),
          ...(served !== undefined ? { serveMs: served.firstByteMs } : {}),
          // was the whole clip in when the seek came? (a contender that says when its download is done: a seek after it never waits on the swarm)
          seekAtMs: Math.round(seekAt - b.t0), ...(b.done.at !== undefined ? { doneMs: Math.round(b.done.at - b.t0), completeAtSeek: b.done.at <= seekAt } : {}),
        }
        results.push(row)
        console.log(JSON.stringify(row))
      }
    }
  }
  // the whole download of a larger torrent from its own seeder, with one reader streaming from the start and without
  if (!values['video-only']) await wholeDownloads()
} finally {
  await close()
  seeder.kill('SIGTERM')
}

async function wholeDownloads(): Promise<void> {
  const ds = ensureDataset(WHOLE)
  const bigPort = await freePort()
  const bigSeeder = killOnExit(
    spawn('aria2c', ['-d', ds.dir, '--bt-seed-unverified=true', '--seed-ratio=0.0', `--listen-port=${bigPort}`, '--file-allocation=none', '--bt-max-peers=0',
      ...(WHOLE_RATE > 0 ? [`--max-overall-upload-limit=${WHOLE_RATE}`] : []),
      '--enable-dht=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--console-log-level=error', '--summary-interval=0', ds.torrentFile], { stdio: 'ignore' }),
  )
  await waitForPort(bigPort)
  // --ab DIR: the engine of the checkout at DIR ("before") too, alternating with this tree's within each run
  const sides = [
    ...(values.ab === undefined ? [] : [{ side: `before (${checkoutLabel(resolve(values.ab))})`, root: resolve(values.ab) }]),
    { side: values.ab === undefined ? '' : `after (${checkoutLabel(projectRoot)})`, root: projectRoot },
  ]
  const big = (root: string, reader: Reader): Contender => ({
    name: 'torrent-patron',
    command: (_source, out) => [process.execPath, [...engineChild('stream-engine', undefined, root), '--torrent', ds.torrentFile, '--out', out, '--peer', `127.0.0.1:${bigPort}`, ...(reader === 'engine' ? ['--drain'] : [])]],
  })
  for (let r = 0; r < RUNS; r++) {
    for (const { side, root } of sides) for (const reader of readers) {
      const a = await launch(big(root, reader), 'torrent')
      const done = new Promise<{ ms: number; cpuMs: number; reads?: { memory: number; storage: number } }>((resolve) => {
        createInterface({ input: a.child.stdout! }).on('line', (line) => {
          const m = JSON.parse(line) as { event?: string; ms?: number; cpuMs?: number; reads?: { memory: number; storage: number } }
          if (m.event === 'done') resolve({ ms: m.ms!, cpuMs: m.cpuMs ?? NaN, ...(m.reads ? { reads: m.reads } : {}) })
        })
      })
      // the reader drains the file as fast as it comes, keeping nothing (node:http, not fetch: less CPU in this process)
      let httpBytes = 0
      const cpuBefore = process.cpuUsage()
      if (reader === 'http') get(a.url, (res) => res.on('data', (c: Buffer) => (httpBytes += c.length))).on('error', () => {})
      // curl: the same HTTP reader as a small C client in its own process
      const curl = reader === 'curl' ? killOnExit(spawn('curl', ['-s', '-o', '/dev/null', a.url], { stdio: 'ignore' })) : undefined
      const { ms, cpuMs, reads } = await done
      const readerBytes = httpBytes // what the node:http reader had when the download completed
      // the reader's own CPU: this process's for node:http (it does nothing else meanwhile), curl's from /proc
      const used = process.cpuUsage(cpuBefore)
      const readerCpuMs = reader === 'http' || reader === 'none' ? Math.round((used.user + used.system) / 1000) : reader === 'curl' && curl?.pid !== undefined ? procCpuMs(curl.pid) : undefined
      curl?.kill('SIGKILL')
      await stop(a)
      whole.push({ side, reader, ms, cpuMs, ...(readerCpuMs === undefined ? {} : { readerCpuMs }) })
      // reads: bytes the reader had by then from memory and from storage
      console.log(JSON.stringify({ whole: true, side, reader, ms, cpuMs, ...(reads && reader !== 'none' ? { reads } : {}), ...(reader === 'http' ? { readerBytes } : {}), ...(readerCpuMs === undefined ? {} : { readerCpuMs }) }))
    }
  }
  bigSeeder.kill('SIGTERM')
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.floor(s.length / 2)]!
}
if (results.length > 0) console.log(`\nvideo ${(size / 1e6).toFixed(1)} MB, seeder limited to ${(RATE / 1e6).toFixed(1)} MB/s, ${RUNS} runs, medians (ms):`)
if (results.length > 0) console.log('| contender | source | first byte | playable | seek to 80% (+0.5 s played) | seek to `seeked` | server: seek request to first byte |\n|---|---|---|---|---|---|---|')
for (const c of results.length > 0 ? contenders : []) {
  for (const source of ['torrent', 'magnet'] as const) {
    const rows = results.filter((x) => x.contender === c.name && x.source === source)
    const serve = rows.filter((x) => x.serveMs !== undefined).map((x) => x.serveMs!)
    console.log(`| ${c.name} | ${source} | ${median(rows.map((x) => x.ttfbMs))} | ${median(rows.map((x) => x.playableMs))} | ${median(rows.map((x) => x.seekMs))} | ${median(rows.map((x) => x.seekedMs))} | ${serve.length > 0 ? median(serve) : '-'} |`)
  }
}
// with the random start the spread is aria2c's timers (about a second): the mean and the least say more than the median alone
const mean = (xs: number[]): number => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length)
if (results.length > 0) console.log('\nmeans (least), ms:\n| contender | source | first byte | playable | seek to 80% |\n|---|---|---|---|---|')
for (const c of results.length > 0 ? contenders : []) {
  for (const source of ['torrent', 'magnet'] as const) {
    const rows = results.filter((x) => x.contender === c.name && x.source === source)
    const both = (xs: number[]): string => `${mean(xs)} (${Math.round(Math.min(...xs))})`
    console.log(`| ${c.name} | ${source} | ${both(rows.map((x) => x.ttfbMs))} | ${both(rows.map((x) => x.playableMs))} | ${both(rows.map((x) => x.seekMs))} |`)
  }
}
for (const side of new Set(whole.map((w) => w.side))) {
  const ms = (reader: Reader) => whole.filter((w) => w.side === side && w.reader === reader).map((w) => w.ms)
  const cpu = (reader: Reader) => median(whole.filter((w) => w.side === side && w.reader === reader).map((w) => w.cpuMs))
  const plain = median(ms('none'))
  console.log(`\n${side === '' ? '' : `${side}: `}whole download of ${WHOLE >> 20} MiB (torrent-patron, ${WHOLE_RATE > 0 ? `aria2c seeder limited to ${(WHOLE_RATE / 1e6).toFixed(1)} MB/s` : 'unlimited aria2c seeder'}), medians of ${RUNS}: ${plain} ms with no reader (${ms('none').join(', ')}; engine CPU ${cpu('none')} ms)`)
  for (const r of readers.filter((x) => x !== 'none')) {
    const read = median(ms(r))
    const readerCpu = whole.filter((w) => w.side === side && w.reader === r && w.readerCpuMs !== undefined).map((w) => w.readerCpuMs!)
    console.log(`  one ${r === 'engine' ? 'in-process' : r === 'curl' ? 'curl (HTTP)' : 'node:http'} reader from the start: ${read} ms (${ms(r).join(', ')}), ${((read / plain - 1) * 100).toFixed(1)}%; engine CPU ${cpu(r)} ms${readerCpu.length > 0 ? `; reader CPU ${median(readerCpu)} ms` : ''}`)
  }
}
console.log(engineRuntimeNote())
process.exit(0)
