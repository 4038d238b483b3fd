/**
 * This project's engine as a benchmark leecher (a child process of
 * bench/download.ts, bench/large.ts and bench/swarm.ts): downloads one
 * torrent into a folder from the peers given, prints one JSON line with the
 * times, what was wasted (refused blocks in and out of endgame, hash
 * failures) and how many bytes each peer contributed; exits 0 when every
 * piece is verified.
 *
 *   node --import tsx bench/leech-engine.ts --torrent t.torrent --out DIR --peer 127.0.0.1:6881 [--host ADDR] [--timeout-ms N] [--transport tcp|utp]
 *
 * `--transport` keeps the engine to one transport (default: TCP and uTP).
 */
import { readFileSync } from 'node:fs'
import { closeTorrent, createNewTorrent, type EngineFeedback, type TorrentId } from '../lib/messages.ts'
import { torrentClient, type TorrentHandle } from '../lib/engine/client/client.ts'
import { argValues, CommandSource, report, startEngine, transportOptions } from './lib/engine.ts'

const argv = process.argv.slice(2)
const [torrentFile] = argValues(argv, 'torrent')
const [out] = argValues(argv, 'out')
const peers = argValues(argv, 'peer')
/** Address to listen on: loopback unless told (the WAN bench runs engines inside namespaces). */
const host = argValues(argv, 'host')[0] ?? '127.0.0.1'
const timeoutMs = Number(argValues(argv, 'timeout-ms')[0] ?? 600_000)
const transport = transportOptions(argValues(argv, 'transport')[0])
if (!torrentFile || !out) {
  console.error('usage: leech-engine.ts --torrent FILE --out DIR [--peer HOST:PORT]...')
  process.exit(2)
}

const fail = (message: string): never => {
  console.error(`engine leech: ${message}`)
  process.exit(1)
}

const started = performance.now()
const commands = new CommandSource()
let id: TorrentId | undefined
let handle: TorrentHandle | undefined
let created = 0
let finished = false
/** The most peers connected over each transport at once (sampled with the status). */
const transports = { tcp: 0, utp: 0 }

const onFeedback = (f: EngineFeedback): void => {
  if (f.type === 'TorrentStartFail') fail(`start failed: ${f.reason}`)
  else if (f.type === 'TorrentAlreadyDownloading') fail('already downloading?')
  else if (f.type === 'NewTorrentCreated') {
    id = f.torrentid
    created = performance.now()
  } else if (f.type === 'TorrentStatusUpdate' && f.torrentid === id && !finished) {
    const s = f.statsdictionary
    if (s.activity.startsWith('error')) fail(s.activity)
    transports.tcp = Math.max(transports.tcp, s.peerTransports?.tcp ?? 0)
    transports.utp = Math.max(transports.utp, s.peerTransports?.utp ?? 0)
    if (s.activity !== 'checking' && s.fractionDone >= 1) {
      finished = true
      // The engine's diagnostic (lib/engine/torrent/torrent.ts), not part of TorrentStats' type.
      const outside = (s as { refusedOutsideEndgame?: number }).refusedOutsideEndgame ?? null
      void finish(s.downTotal, s.discarded, outside)
    }
  }
}

const engine = startEngine(
  torrentClient({ dht: false, host, statusInterval: 250, ...transport, onTorrent: (_id, h) => (handle = h) }),
  commands,
  onFeedback,
  (e) => fail(e.message)
)
const timer = setTimeout(() => fail('timed out'), timeoutMs)

const finish = async (downTotal: number, discarded: number, refusedOutsideEndgame: number | null): Promise<void> => {
  const done = performance.now()
  clearTimeout(timer)
  const contributed = handle?.contributed() ?? {}
  // Close so the files are flushed and closed before the parent compares them.
  commands.push(closeTorrent(id!))
  await new Promise((r) => setTimeout(r, 50))
  engine.dispose()
  report({
    event: 'done',
    transferMs: done - created,
    totalMs: done - started,
    downTotal,
    discarded,
    refusedOutsideEndgame,
    contributed,
    transports,
    resourceUsage: process.resourceUsage()
  })
  process.exit(0)
}

// Push after the engine has subscribed to the command source.
setImmediate(() => commands.push(createNewTorrent(readFileSync(torrentFile), { savefolder: out, peers })))
