/**
 * The radio peer: a station publishes its broadcast as a series of short
 * chunks, one torrent each, and lists the .torrent URLs (one per line, oldest
 * first) at a feed URL. This peer polls the feed, downloads every chunk it
 * has not seen, and plays the chunks in order as each one completes (here:
 * writes them, in order, to standard output), however the downloads
 * interleave: `orderedChunks` holds a chunk back until all before it are out.
 *
 *   npx tsx radio-peer.ts http://127.0.0.1:8080/feed.txt > broadcast.ogg
 */
import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { concatMap, fromPromise, map, multicast, runEffects, tap } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import { createNewTorrent, torrentClient, torrentPatron, torrentService } from 'torrent-patron'
import { fromAsyncIterable, orderedChunks, type OrderedChunk } from 'torrent-patron/operators'

const [feed = 'http://127.0.0.1:8080/feed.txt', folder = 'radio', pollMs = '2000'] = process.argv.slice(2)
const service = torrentService(torrentClient({ downloadFolder: folder }))

/** The .torrent files of the feed, each once, as they are published. */
async function* published(): AsyncGenerator<Uint8Array> {
  const seen = new Set<string>()
  for (;;) {
    const list = await fetch(feed).then((r) => (r.ok ? r.text() : ''), () => '')
    for (const line of list.split('\n').map((l) => l.trim())) {
      if (line === '' || seen.has(line)) continue
      seen.add(line)
      const res = await fetch(new URL(line, feed)).catch(() => null)
      if (res?.ok) yield new Uint8Array(await res.arrayBuffer())
    }
    await new Promise((r) => setTimeout(r, Number(pollMs)))
  }
}

const commands = map((bytes: Uint8Array) => createNewTorrent(bytes, { savefolder: folder }), fromAsyncIterable(published()))
const feedback = multicast(torrentPatron(service, commands))

/** Plays one chunk: its bytes go to stdout through a Node stream (bytes never travel on @most streams). */
const play = async (chunk: OrderedChunk): Promise<OrderedChunk> => {
  await pipeline(createReadStream(join(chunk.savefolder, chunk.name ?? '')), process.stdout, { end: false })
  return chunk
}

// one chunk at a time: concatMap starts playing a chunk only once the one before it is played
const played = concatMap((c: OrderedChunk) => fromPromise(play(c)), orderedChunks(feedback))
await runEffects(tap((c: OrderedChunk) => process.stderr.write(`played chunk ${c.index} (${c.name})\n`), played), newDefaultScheduler())
