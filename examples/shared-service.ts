/**
 * Several patrons sharing one service (one engine) in one program. Patrons
 * 1 and 2 ask for the same torrent: the engine runs it once, patron 2 is
 * told TorrentAlreadyDownloading and becomes a co-owner; both keep seeding
 * it until Ctrl-C. Patron 3 fetches another torrent and seeds it afterwards
 * until its share ratio is 1 or for SECONDS (default 60), then closes it
 * itself (feedbackLoop + closeAfter) and says so.
 *
 *   npx tsx shared-service.ts a.torrent b.torrent [SECONDS]
 */
import { readFile } from 'node:fs/promises'
import { map, mergeArray, now, runEffects, tap, until } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import type { Stream } from '@most/types'
import { createNewTorrent, torrentClient, torrentPatron, torrentService, type Feedback } from 'torrent-patron'
import { closeAfter, feedbackLoop, fromEvent, progress } from 'torrent-patron/operators'

const [a = 'a.torrent', b = 'b.torrent', limit = '60'] = process.argv.slice(2)
const seconds = Number(limit)
const [bytesA, bytesB] = await Promise.all([readFile(a), readFile(b)])

const service = torrentService(torrentClient({ downloadFolder: 'downloads' }))
const patron = torrentPatron(service)
// closeAfter's CloseTorrent goes back into patron 3; the tap tells the user when it does.
const seedAWhile = feedbackLoop(service, (feedback: Stream<Feedback>) =>
  tap(() => console.log('patron 3: stopped seeding'), closeAfter({ ratio: 1, seconds }, feedback))
)

const one = patron(now(createNewTorrent(bytesA)))
const two = patron(now(createNewTorrent(bytesA)))
const three = seedAWhile(now(createNewTorrent(bytesB)))

/** A patron's progress as text, labelled with its name; at 100% it says what comes next. */
const percent = (label: string, feedback: Stream<Feedback>, next: string): Stream<string> =>
  map((f: number) => (f < 1 ? `${label}: ${(f * 100).toFixed(1)}%` : `${label}: 100%, ${next}`), progress(feedback))

const all = mergeArray([
  percent('patron 1', one, 'seeding until Ctrl-C'),
  percent('patron 2', two, 'seeding until Ctrl-C'),
  percent('patron 3', three, `seeding until its share ratio is 1 or for ${seconds} s`)
])

// Ctrl-C makes every patron leave: the service closes their torrents and the engine stops.
await runEffects(until(fromEvent('SIGINT', process), tap((line: string) => console.log(line), all)), newDefaultScheduler())
console.log('stopped: every torrent is closed')
