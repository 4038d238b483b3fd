/**
 * A folder watcher that seeds new files: every file that appears in the
 * folder is seeded, once it has stopped changing, with a .torrent written
 * beside it, by one patron, until Ctrl-C. The folder's events arrive as an
 * async iterable (`fs/promises` watch) and become a stream of commands. A
 * file that cannot be seeded is reported as a line; the watcher goes on.
 *
 *   npx tsx seed-watcher.ts incoming http://127.0.0.1:8000/announce
 */
import { stat, watch, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chain, filter, fromPromise, map, merge, multicast, runEffects, tap, until } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import { createNewTorrent, makeTorrent, torrentClient, torrentPatron, torrentService, type CreateNewTorrent, type Feedback } from 'torrent-patron'
import { fromAsyncIterable, fromEvent } from 'torrent-patron/operators'

const [folder = 'incoming', announce = 'http://127.0.0.1:8000/announce'] = process.argv.slice(2)
/** How long a file must keep its size and modification time to count as written. */
const QUIET_MS = 1000
const service = torrentService(torrentClient({ downloadFolder: folder }))
// A watcher blocked waiting for the next event ignores return(): stop it with a signal.
const stopWatching = new AbortController()
process.once('SIGINT', () => stopWatching.abort())

/** Names that appear in the folder, each once (watchers report a file several times while it is written). */
const seen = new Set<string>()
const newFiles = filter(
  (name: string) => name !== '' && !name.endsWith('.torrent') && !seen.has(name) && (seen.add(name), true),
  map((e: { filename: string | null }) => e.filename ?? '', fromAsyncIterable(watch(folder, { signal: stopWatching.signal })))
)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Wait until `path` keeps its size and time for QUIET_MS; null if it is gone or no regular file. */
const settled = async (path: string): Promise<{ size: number } | null> => {
  let last = ''
  for (;;) {
    const s = await stat(path).catch(() => null)
    if (s === null || !s.isFile()) return null
    const now = `${s.size} ${s.mtimeMs}`
    if (now === last) return { size: s.size }
    last = now
    await sleep(QUIET_MS)
  }
}

type Outcome = { readonly seed: CreateNewTorrent } | { readonly line: string }

/** The command that seeds a file (its .torrent written beside it), or a line saying why not. */
const torrentFor = async (name: string): Promise<Outcome> => {
  const path = join(folder, name)
  try {
    const file = await settled(path)
    if (file === null) return { line: `skipped ${name}: not a regular file (or gone)` }
    if (file.size === 0) return { line: `skipped ${name}: empty` }
    const bytes = await makeTorrent(path, { announce })
    await writeFile(`${path}.torrent`, bytes)
    return { seed: createNewTorrent(bytes, { savefolder: folder }) }
  } catch (e) {
    // Reported, never thrown: one bad file must not stop the watcher.
    seen.delete(name)
    return { line: `cannot seed ${name}: ${e instanceof Error ? e.message : String(e)}` }
  }
}

// One watcher for both uses of the outcomes: commands for the patron, lines for the user.
const outcomes = multicast(chain((name: string) => fromPromise(torrentFor(name)), newFiles))
const commands = map((o: { seed: CreateNewTorrent }) => o.seed, filter((o: Outcome): o is { seed: CreateNewTorrent } => 'seed' in o, outcomes))
const problems = map((o: { line: string }) => o.line, filter((o: Outcome): o is { line: string } => 'line' in o, outcomes))

/** What the patron's feedback tells the user, as lines ('' for nothing). */
const say = (m: Feedback): string => {
  if (m.type === 'NewTorrentCreated') return `seeding ${m.name ?? m.torrentid}`
  if (m.type === 'TorrentStartFail') return `cannot seed: ${m.reason}`
  if (m.type === 'TorrentStatusUpdate' && m.statsdictionary.activity.startsWith('error')) return `${m.statsdictionary.name}: ${m.statsdictionary.activity}`
  return ''
}
const said = filter((line: string) => line !== '', map(say, torrentPatron(service, commands)))

console.log(`watching ${folder}; Ctrl-C to stop`)
// Ctrl-C disposes the pipeline: the watcher stops, the patron leaves, the service closes its torrents.
await runEffects(until(fromEvent('SIGINT', process), tap((line: string) => console.log(line), merge(problems, said))), newDefaultScheduler())
