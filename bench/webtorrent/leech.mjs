// WebTorrent 2.8.x as a benchmark leecher: downloads one torrent into a folder
// from the peers given (and its trackers), prints one JSON line, exits.
//
//   node bench/webtorrent/leech.mjs --torrent t.torrent --out DIR [--peer 127.0.0.1:6881]... [--no-tracker]
//
// Exit code 0 when done, 1 on error or timeout. Plain JS on purpose: it runs
// from its own folder with its own node_modules, outside the project's deps.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import WebTorrent from 'webtorrent'

const { values } = parseArgs({
  options: {
    torrent: { type: 'string' },
    out: { type: 'string' },
    peer: { type: 'string', multiple: true, default: [] },
    'no-tracker': { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '600000' }
  }
})
if (!values.torrent || !values.out) {
  console.error('usage: leech.mjs --torrent FILE --out DIR [--peer HOST:PORT]...')
  process.exit(2)
}

const started = performance.now()
// Everything that could reach beyond loopback is off: the bench measures one seeder.
const client = new WebTorrent({
  dht: false,
  lsd: false,
  utPex: false,
  natUpnp: false,
  natPmp: false,
  webSeeds: false,
  utp: false,
  tracker: values['no-tracker'] ? false : {}
})

const fail = (message) => {
  console.error(`webtorrent leech: ${message}`)
  process.exit(1)
}
client.on('error', (err) => fail(err?.message ?? String(err)))
const timer = setTimeout(() => fail('timed out'), Number(values['timeout-ms']))

let added = 0
const torrent = client.add(readFileSync(values.torrent), { path: values.out, strategy: 'sequential' }, () => {
  added = performance.now()
})
torrent.on('error', (err) => fail(err?.message ?? String(err)))
torrent.on('ready', () => {
  for (const peer of values.peer) torrent.addPeer(peer)
})
torrent.on('done', () => {
  const done = performance.now()
  clearTimeout(timer)
  const result = {
    event: 'done',
    bytes: torrent.length,
    transferMs: done - (added || started),
    totalMs: done - started,
    resourceUsage: process.resourceUsage()
  }
  // Destroy flushes the file store; only then is the data certainly on disk.
  client.destroy(() => {
    process.stdout.write(JSON.stringify(result) + '\n')
    process.exit(0)
  })
})
