// WebTorrent 2.8.x's own HTTP server as a streaming benchmark contender: adds
// one torrent (file or magnet) from the peers given, serves it, and prints
// one JSON line {"event":"listening","url":...} with the URL of file 0 as
// soon as the server can answer for it. Runs until killed.
//
//   node bench/webtorrent/stream.mjs (--torrent t.torrent | --magnet URI) --out DIR [--peer 127.0.0.1:6881]...
//
// Plain JS on purpose: it runs from its own folder with its own node_modules.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import WebTorrent from 'webtorrent'

const { values } = parseArgs({
  options: {
    torrent: { type: 'string' },
    magnet: { type: 'string' },
    out: { type: 'string' },
    peer: { type: 'string', multiple: true, default: [] }
  }
})
if ((!values.torrent && !values.magnet) || !values.out) {
  console.error('usage: stream.mjs (--torrent FILE | --magnet URI) --out DIR [--peer HOST:PORT]...')
  process.exit(2)
}

// Everything that could reach beyond loopback is off: the bench measures one seeder.
const client = new WebTorrent({ dht: false, lsd: false, utPex: false, natUpnp: false, natPmp: false, webSeeds: false, utp: false, tracker: false })
client.on('error', (err) => {
  console.error(`webtorrent stream: ${err?.message ?? err}`)
  process.exit(1)
})
const server = client.createServer()
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port
  const torrent = client.add(values.torrent ? readFileSync(values.torrent) : values.magnet, { path: values.out })
  torrent.on('infoHash', () => {
    for (const peer of values.peer) torrent.addPeer(peer)
  })
  torrent.on('ready', () => {
    const file = torrent.files[0]
    process.stdout.write(JSON.stringify({ event: 'listening', url: `http://127.0.0.1:${port}${file.streamURL}` }) + '\n')
  })
})
