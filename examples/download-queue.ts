/**
 * A download queue with a concurrency limit: every .torrent named on the
 * command line is fetched through one shared service, at most two at a time.
 * Each download is a `downloadAll` stream that ends when its torrent is
 * complete (or failed); `mergeMapConcurrently` starts the next when one ends.
 *
 *   npx tsx download-queue.ts a.torrent b.torrent c.torrent
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { filter, map, merge, mergeMapConcurrently, multicast, runEffects, tap } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import type { Stream } from '@most/types'
import { torrentClient, torrentService } from 'torrent-patron'
import { downloadAll, errors, fromAsyncIterable, isComplete, statusUpdates, type TorrentProblem } from 'torrent-patron/operators'

const CONCURRENCY = 2
const service = torrentService(torrentClient({ downloadFolder: 'downloads' }))

interface Queued {
  readonly name: string
  readonly bytes: Uint8Array
}

/** The queue: files are read only when the queue gets to them. */
async function* queue(files: readonly string[]): AsyncGenerator<Queued> {
  for (const file of files) yield { name: basename(file), bytes: await readFile(file) }
}

/** One download, told as lines of text. */
const fetchOne = ({ name, bytes }: Queued): Stream<string> => {
  const feedback = multicast(downloadAll(service, [bytes]))
  const done = map(() => `${name}: complete`, filter(isComplete, statusUpdates(feedback)))
  const failed = map((p: TorrentProblem) => `${name}: failed: ${p.reason}`, errors(feedback))
  return merge(done, failed)
}

const lines = mergeMapConcurrently(fetchOne, CONCURRENCY, fromAsyncIterable(queue(process.argv.slice(2))))
await runEffects(tap((line: string) => console.log(line), lines), newDefaultScheduler())
console.log('queue empty')

