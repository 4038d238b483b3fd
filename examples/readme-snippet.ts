import { readFileSync } from 'node:fs'
import { runEffects, tap } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import { torrentClient, torrentService, torrentPatron, createNewTorrent, isTorrentStatusUpdate, type Feedback } from 'torrent-patron'
import { downloadAll } from 'torrent-patron/operators'

const service = torrentService(torrentClient({ downloadFolder: 'downloads' }))   // one engine, shared
const patron = torrentPatron(service)                                              // a private view of it
const feedback = downloadAll(patron, [createNewTorrent(readFileSync(process.argv[2] ?? 'a.torrent'))])
const show = (m: Feedback) => { if (isTorrentStatusUpdate(m)) console.log(m.statsdictionary.activity, m.statsdictionary.fractionDone) }
await runEffects(tap(show, feedback), newDefaultScheduler())                       // ends when every download is complete
