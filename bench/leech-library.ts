/**
 * This project as a library user runs it (a child process of
 * bench/download.ts): the public entry point (`lib/index.ts` and the
 * operators, compiled like the other bench children), a `torrentService`
 * over a `torrentClient`, and `downloadAll` until the torrent is complete.
 * It runs with Node's default options (no --max-semi-space-size), as an
 * application that embeds the engine would, and prints one JSON line with
 * its add-to-done time.
 *
 *   node bench/.work/dist/bench/leech-library.js --torrent t.torrent --out DIR --peer 127.0.0.1:6881 [--timeout-ms N]
 */
import { readFileSync } from 'node:fs'
import { runEffects, tap } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import { createNewTorrent, isTorrentStatusUpdate, torrentClient, torrentService, type Feedback } from '../lib/index.ts'
import { downloadAll, isComplete, isFailed } from '../operators/index.ts'
import { argValues, report } from './lib/engine.ts'

const argv = process.argv.slice(2)
const [torrentFile] = argValues(argv, 'torrent')
const [out] = argValues(argv, 'out')
const peers = argValues(argv, 'peer')
const timeoutMs = Number(argValues(argv, 'timeout-ms')[0] ?? 600_000)
if (!torrentFile || !out) {
  console.error('usage: leech-library.ts --torrent FILE --out DIR [--peer HOST:PORT]...')
  process.exit(2)
}

const started = performance.now()
const timer = setTimeout(() => {
  console.error('library leech: timed out')
  process.exit(1)
}, timeoutMs)

const service = torrentService(torrentClient({ dht: false, lsd: false, portMapping: false, host: '127.0.0.1', statusInterval: 250 }))
const created = performance.now()
let done = 0
const feedback = downloadAll(service, [createNewTorrent(readFileSync(torrentFile), { savefolder: out, peers })])
await runEffects(
  tap((f: Feedback) => {
    if (!isTorrentStatusUpdate(f)) return
    if (isFailed(f)) {
      console.error(`library leech: ${JSON.stringify(f)}`)
      process.exit(1)
    }
    if (done === 0 && isComplete(f)) done = performance.now()
  }, feedback),
  newDefaultScheduler()
)
clearTimeout(timer)
if (done === 0) done = performance.now()
report({ event: 'done', transferMs: done - created, totalMs: done - started, resourceUsage: process.resourceUsage() })
process.exit(0)
