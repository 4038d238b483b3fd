/**
 * This project's engine as a benchmark seeder (a child process of
 * bench/seed.ts): checks the existing data in `--data`, seeds it on
 * 127.0.0.1:`--port`, announcing to the torrent's tracker. Prints
 * `{"event":"seeding",...}` once ready and then stays up until SIGTERM.
 *
 *   node --import tsx bench/seed-engine.ts --torrent t.torrent --data DIR --port P [--host ADDR] [--transport tcp|utp]
 *
 * `--transport` keeps the engine to one transport (default: TCP and uTP).
 */
import { readFileSync } from 'node:fs'
import { createNewTorrent, type EngineFeedback, type TorrentId } from '../lib/messages.ts'
import { torrentClient } from '../lib/engine/client/client.ts'
import { argValues, CommandSource, report, startEngine, transportOptions } from './lib/engine.ts'

const argv = process.argv.slice(2)
const [torrentFile] = argValues(argv, 'torrent')
const [data] = argValues(argv, 'data')
const port = Number(argValues(argv, 'port')[0] ?? 0)
/** Address to listen on: loopback unless told (the WAN bench runs engines inside namespaces). */
const host = argValues(argv, 'host')[0] ?? '127.0.0.1'
const transport = transportOptions(argValues(argv, 'transport')[0])
if (!torrentFile || !data) {
  console.error('usage: seed-engine.ts --torrent FILE --data DIR --port P')
  process.exit(2)
}

const fail = (message: string): never => {
  console.error(`engine seed: ${message}`)
  process.exit(1)
}

const started = performance.now()
const commands = new CommandSource()
let id: TorrentId | undefined
let ready = false
let last: EngineFeedback | undefined

const onFeedback = (f: EngineFeedback): void => {
  if (f.type === 'TorrentStartFail') fail(`start failed: ${f.reason}`)
  else if (f.type === 'NewTorrentCreated') id = f.torrentid
  else if (f.type === 'TorrentStatusUpdate' && f.torrentid === id) {
    last = f
    const s = f.statsdictionary
    if (s.activity.startsWith('error')) fail(s.activity)
    if (!ready && s.activity === 'seeding') {
      ready = true
      report({ event: 'seeding', checkMs: performance.now() - started, resourceUsage: process.resourceUsage() })
    }
  }
}

const engine = startEngine(torrentClient({ dht: false, host, port, statusInterval: 1000, ...transport }), commands, onFeedback, (e) =>
  fail(e.message)
)

const stop = (): void => {
  engine.dispose()
  const s = last?.type === 'TorrentStatusUpdate' ? last.statsdictionary : undefined
  report({ event: 'stopped', upTotal: s?.upTotal ?? null, resourceUsage: process.resourceUsage() })
  // Give the stopped announce a moment, then leave.
  setTimeout(() => process.exit(0), 200)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)

setImmediate(() => commands.push(createNewTorrent(readFileSync(torrentFile), { savefolder: data })))
