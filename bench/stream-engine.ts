/**
 * torrent-patron as a streaming benchmark contender, the mirror of
 * bench/webtorrent/stream.mjs: adds one torrent (file or magnet) from the
 * peers given, serves it with the project's HTTP server, and prints
 * {"event":"listening","url":...} (the URL of file 0) once it can answer for
 * it, and {"event":"done","ms":...} once the download is complete. Runs
 * until killed.
 *
 * With --drain it also reads file 0 itself from the start (a read stream
 * drained as it comes, no HTTP): the reader's cost without the server's.
 * With --trace it prints {"event":"read","start":...,"firstByteMs":...} for
 * each read stream the server opens, once its first byte is out: how long
 * the engine took to serve a request (a seek's, say).
 *
 *   node --import tsx bench/stream-engine.ts (--torrent t.torrent | --magnet URI) --out DIR [--peer 127.0.0.1:6881]... [--drain] [--trace]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { torrentClient, type TorrentHandle } from '../lib/engine/index.ts'
import { createNewTorrent, isNewTorrentCreated, isTorrentStartFail, isTorrentStatusUpdate, type EngineFeedback } from '../lib/messages.ts'
import { startStreamServer, type ServedTorrent } from '../lib/stream/http-server.ts'
import { servedTorrent } from '../lib/stream/serve-torrent.ts'
import { CommandSource, startEngine } from './lib/engine.ts'

const { values } = parseArgs({
  options: {
    torrent: { type: 'string' },
    magnet: { type: 'string' },
    out: { type: 'string' },
    peer: { type: 'string', multiple: true, default: [] },
    drain: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
  },
})
if ((values.torrent === undefined && values.magnet === undefined) || values.out === undefined) {
  console.error('usage: stream-engine.ts (--torrent FILE | --magnet URI) --out DIR [--peer HOST:PORT]...')
  process.exit(2)
}

// SIGTERM exits normally, so that node's --cpu-prof (BENCH_NODE_ARGS) writes its profile
process.on('SIGTERM', () => process.exit(0))

const handles = new Map<string, TorrentHandle>()
let served: ServedTorrent | undefined
const srv = await startStreamServer({ list: () => (served === undefined ? [] : [served]) })
const commands = new CommandSource()
const engine = torrentClient({ dht: false, pex: false, statusInterval: 100, onTorrent: (id, h) => handles.set(id, h) })
let id: string | undefined
let told = false
let finished = false
const started = performance.now()
const tell = (): void => {
  if (told || id === undefined) return
  const streams = handles.get(id)?.streams()
  if (streams === undefined) return
  told = true
  const plain = servedTorrent(id, 'bench', streams)
  served = !values.trace
    ? plain
    : {
        ...plain,
        createReadStream: (file, range) => {
          const t = performance.now()
          const r = plain.createReadStream(file, range)
          r.once('data', () => process.stdout.write(JSON.stringify({ event: 'read', start: range.start, firstByteMs: Math.round(performance.now() - t) }) + '\n'))
          return r
        },
      }
  if (values.drain) streams.createReadStream(0).on('error', () => {}).resume()
  process.stdout.write(JSON.stringify({ event: 'listening', url: srv.fileUrl(served, 0) }) + '\n')
}
startEngine(
  engine,
  commands,
  (m: EngineFeedback) => {
    if (isTorrentStartFail(m)) {
      console.error(`stream-engine: ${m.reason}`)
      process.exit(1)
    }
    if (isNewTorrentCreated(m)) id = m.torrentid
    tell()
    if (!finished && isTorrentStatusUpdate(m) && m.torrentid === id && m.statsdictionary.activity === 'seeding') {
      finished = true
      const cpu = process.cpuUsage()
      // where readers' bytes came from (absent in a checkout without the diagnostic)
      const reads = (handles.get(id!)?.streams() as { readBytes?: () => { memory: number; storage: number } } | undefined)?.readBytes?.()
      process.stdout.write(JSON.stringify({ event: 'done', ms: Math.round(performance.now() - started), cpuMs: Math.round((cpu.user + cpu.system) / 1000), ...(reads ? { reads } : {}) }) + '\n')
    }
  },
  (e) => {
    console.error(`stream-engine: ${e.message}`)
    process.exit(1)
  },
)
commands.push(createNewTorrent(values.torrent !== undefined ? readFileSync(values.torrent) : values.magnet!, { savefolder: values.out, peers: values.peer }))
