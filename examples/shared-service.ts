/**
 * Several patrons sharing one service (one engine) in one program. Patrons
 * 1 and 2 ask for the same torrent: the engine runs it once, patron 2 is
 * told TorrentAlreadyDownloading and becomes a co-owner. Patron 3 fetches
 * another torrent and seeds it afterwards until its share ratio is 1 or for
 * a minute, closing it itself (feedbackLoop + closeAfter).
 *
 *   node --import tsx examples/shared-service.ts a.torrent b.torrent
 */
import { readFile } from 'node:fs/promises'
import { map, mergeArray, now, runEffects, tap, until } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import type { Stream } from '@most/types'
import { torrentClient } from '../lib/engine/index.ts'
import type { Feedback } from '../lib/messages.ts'
import { torrentPatron } from '../lib/patron.ts'
import { torrentService } from '../lib/service/index.ts'
import { closeAfter, createTorrent, feedbackLoop, fromEvent, progress } from '../operators/index.ts'

const [a = 'a.torrent', b = 'b.torrent'] = process.argv.slice(2)
const [bytesA, bytesB] = await Promise.all([readFile(a), readFile(b)])

const service = torrentService(torrentClient({ downloadFolder: 'downloads' }))
const patron = torrentPatron(service)
const seedAWhile = feedbackLoop(service, closeAfter({ ratio: 1, seconds: 60 }))

const one = patron(now(createTorrent(bytesA)))
const two = patron(now(createTorrent(bytesA)))
const three = seedAWhile(now(createTorrent(bytesB)))

/** A patron's progress as text, labelled with its name. */
const percent = (label: string, feedback: Stream<Feedback>): Stream<string> =>
  map((f: number) => `${label}: ${(f * 100).toFixed(1)}%`, progress(feedback))

const all = mergeArray([percent('patron 1', one), percent('patron 2', two), percent('patron 3', three)])

// Each patron ends when its torrents are gone; Ctrl-C makes every patron leave.
await runEffects(until(fromEvent('SIGINT', process), tap((line: string) => console.log(line), all)), newDefaultScheduler())
