/**
 * A folder watcher that seeds new files: every file that appears in the
 * folder gets a .torrent written beside it and is seeded, by one patron,
 * until Ctrl-C. The folder's events arrive as an async iterable
 * (`fs/promises` watch) and become a stream of commands.
 *
 *   node --import tsx examples/seed-watcher.ts incoming http://127.0.0.1:8000/announce
 */
import { stat, watch, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { awaitPromises, filter, map, runEffects, tap, until } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import { torrentClient } from '../lib/engine/index.ts'
import { makeTorrent } from '../lib/maker/index.ts'
import type { CreateNewTorrent, Feedback } from '../lib/messages.ts'
import { torrentPatron } from '../lib/patron.ts'
import { torrentService } from '../lib/service/index.ts'
import { createTorrent, fromAsyncIterable, fromEvent } from '../operators/index.ts'

const [folder = 'incoming', announce = 'http://127.0.0.1:8000/announce'] = process.argv.slice(2)
const service = torrentService(torrentClient({ downloadFolder: folder }))
// A watcher blocked waiting for the next event ignores return(): stop it with a signal.
const stopWatching = new AbortController()
process.once('SIGINT', () => stopWatching.abort())

/** Names that appear in the folder, each once (watchers report a file several times). */
const seen = new Set<string>()
const newFiles = filter(
  (name: string) => !name.endsWith('.torrent') && !seen.has(name) && (seen.add(name), true),
  map((e: { filename: string | null }) => e.filename ?? '', fromAsyncIterable(watch(folder, { signal: stopWatching.signal })))
)

/** A torrent for a file, written beside it, as the command that seeds it (null if it is no regular file). */
const torrentFor = async (name: string): Promise<CreateNewTorrent | null> => {
  const path = join(folder, name)
  const s = await stat(path).catch(() => null)
  if (s === null || !s.isFile() || s.size === 0) return null
  const bytes = await makeTorrent(path, { announce })
  await writeFile(`${path}.torrent`, bytes)
  return createTorrent(bytes, { savefolder: folder })
}

const commands = filter(
  (c: CreateNewTorrent | null): c is CreateNewTorrent => c !== null,
  awaitPromises(map(torrentFor, newFiles))
)

const feedback = torrentPatron(service, commands)
const log = tap((m: Feedback) => {
  if (m.type === 'NewTorrentCreated') console.log(`seeding ${m.name ?? m.torrentid}`)
  if (m.type === 'TorrentStartFail') console.log(`cannot seed: ${m.reason}`)
}, feedback)

// Ctrl-C disposes the pipeline: the watcher stops, the patron leaves, the service closes its torrents.
await runEffects(until(fromEvent('SIGINT', process), log), newDefaultScheduler())
