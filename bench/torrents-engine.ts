/**
 * This project's engine holding many small torrents (a child process of
 * bench/torrents.ts; needs --expose-gc): writes `--count` single-file
 * torrents of `--size` bytes into `--dir`, has one engine seed them all
 * (no peers, no tracker; the .torrent files are left there too), then measures the idle cost: V8 heap per torrent
 * (after a full GC, against the same engine with no torrent) and the CPU the
 * process spends over `--window-s` seconds while every torrent reports its
 * status once a second. Prints one JSON line.
 *
 *   node --expose-gc --import tsx bench/torrents-engine.ts --dir D --count 1000 --size 65536 --window-s 10 --settle-s 2
 */
import { randomFillSync } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { torrentClient } from '../lib/engine/client/client.ts'
import { createNewTorrent, type EngineFeedback, type TorrentId } from '../lib/messages.ts'
import { torrentOf } from '../spec/support/loopback-swarm.ts'
import { argValues, CommandSource, report, startEngine } from './lib/engine.ts'

const argv = process.argv.slice(2)
const dir = argValues(argv, 'dir')[0]
const count = Number(argValues(argv, 'count')[0] ?? 1000)
const size = Number(argValues(argv, 'size')[0] ?? 65536)
const windowS = Number(argValues(argv, 'window-s')[0] ?? 10)
const settleS = Number(argValues(argv, 'settle-s')[0] ?? 2)
const gc = (globalThis as { gc?: () => void }).gc
if (!dir || !gc) {
  console.error('usage: node --expose-gc --import tsx bench/torrents-engine.ts --dir D [--count N] [--size B] [--window-s S]')
  process.exit(2)
}
const fail = (message: string): never => {
  console.error(`torrents engine: ${message}`)
  process.exit(1)
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const heapAfterGc = async (): Promise<{ heap: number; external: number }> => {
  // Twice, with a turn of the event loop between: weak callbacks and finalizers run in between.
  gc()
  await sleep(50)
  gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, external: m.external }
}

// The data and .torrent bytes, made before anything is measured.
mkdirSync(dir, { recursive: true })
const metainfo: Uint8Array[] = []
{
  const data = new Uint8Array(size)
  for (let i = 0; i < count; i++) {
    randomFillSync(data)
    const name = `t${i}.bin`
    writeFileSync(join(dir, name), data)
    const bytes = torrentOf(name, data, 16 * 1024).bytes
    metainfo.push(bytes)
    writeFileSync(join(dir, `t${i}.torrent`), bytes) // for the aria2c comparison
  }
}

const commands = new CommandSource()
const ids = new Set<TorrentId>()
const seeding = new Set<TorrentId>()
let updates = 0
const onFeedback = (f: EngineFeedback): void => {
  if (f.type === 'TorrentStartFail') fail(`start failed: ${f.reason}`)
  else if (f.type === 'NewTorrentCreated') ids.add(f.torrentid)
  else if (f.type === 'TorrentStatusUpdate') {
    updates++
    if (f.statsdictionary.activity.startsWith('error')) fail(f.statsdictionary.activity)
    if (f.statsdictionary.activity === 'seeding') seeding.add(f.torrentid)
  }
}
const engine = startEngine(
  torrentClient({ dht: false, host: '127.0.0.1', statusInterval: 1000, maxConns: 5000 }),
  commands,
  onFeedback,
  (e) => fail(e.message)
)
await sleep(500) // listening, workers up
const base = await heapAfterGc()
const rssBase = process.memoryUsage().rss

const t0 = performance.now()
for (let i = 0; i < count; i++) commands.push(createNewTorrent(metainfo[i]!, { savefolder: dir }))
metainfo.length = 0
const deadline = Date.now() + 120_000
while (seeding.size < count) {
  if (Date.now() > deadline) fail(`only ${seeding.size} of ${count} torrents seeding after 120 s`)
  await sleep(50)
}
const readyMs = performance.now() - t0
await sleep(settleS * 1000) // let the start-up work (checks, first announces, timers) settle
const loaded = await heapAfterGc()

// The idle window: nothing happens but each torrent's status tick (and its timers).
updates = 0
const cpu0 = process.cpuUsage()
const w0 = performance.now()
await sleep(windowS * 1000)
const cpu = process.cpuUsage(cpu0)
const wallS = (performance.now() - w0) / 1000
const windowUpdates = updates
const after = await heapAfterGc()
engine.dispose()
report({
  event: 'done',
  count,
  size,
  readyMs,
  heapBase: base.heap,
  heapLoaded: loaded.heap,
  heapAfterWindow: after.heap,
  heapPerTorrent: (loaded.heap - base.heap) / count,
  externalPerTorrent: (loaded.external - base.external) / count,
  rssPerTorrent: (process.memoryUsage().rss - rssBase) / count,
  rss: process.memoryUsage().rss,
  cpuShare: (cpu.user + cpu.system) / 1e6 / wallS,
  windowS: wallS,
  updatesPerSecond: windowUpdates / wallS
})
process.exit(0)
