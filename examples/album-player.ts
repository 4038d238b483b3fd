/**
 * The album player: downloads the albums (torrents of several files) named
 * on the command line and plays their tracks in order as each one completes
 * (here: writes them, in order, to standard output): the first album's
 * tracks in file order, then the next album's, while the rest downloads.
 * `orderedFiles` holds a track back until every track before it is out,
 * however the pieces arrive. `#0,2` after an album picks its files 0 and 2:
 * the others are skipped (never downloaded) and passed over.
 *
 *   npx tsx album-player.ts albums first.torrent second.torrent#0,2 > tracks.bin
 */
import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { once } from 'node:events'
import { concatMap, filter, fromPromise, multicast, runEffects, tap } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import { createNewTorrent, isCreationReply, parseMetainfo, torrentClient, torrentService, type CreationReply, type FilePriority } from 'torrent-patron'
import { downloadAll, orderedFiles, type CompletedFile } from 'torrent-patron/operators'

const [folder = 'albums', ...albums] = process.argv.slice(2)

/** Each album: its .torrent, the paths of its files (pad files not counted) and which to fetch. */
const loaded = await Promise.all(
  albums.map(async (arg) => {
    const [path, pick] = arg.split('#') as [string, string | undefined]
    const bytes = new Uint8Array(await readFile(path))
    const meta = await parseMetainfo(bytes)
    if (!meta.ok) throw new Error(`${path}: ${meta.reason}`)
    const paths = meta.value.files.filter((f) => !f.pad).map((f) => join(...f.path))
    const only = pick?.split(',').map(Number)
    const priorities = paths.map((_, i): FilePriority => (only === undefined || only.includes(i) ? 'normal' : 'skip'))
    return { path, bytes, paths, priorities }
  }),
)

const service = torrentService(torrentClient({ downloadFolder: folder }))
const feedback = multicast(downloadAll(service, loaded.map((a) => createNewTorrent(a.bytes, { savefolder: folder, priorities: a.priorities }))))

// an album that does not start would shift every later one's place: stop there
const started = tap((reply: CreationReply) => {
  if (reply.type === 'NewTorrentCreated') return
  process.stderr.write(`an album did not start (${reply.type === 'TorrentStartFail' ? reply.reason : 'given twice'})\n`)
  process.exit(1)
}, filter(isCreationReply, feedback))

/** Plays one track: its bytes go to stdout through a Node stream (bytes never travel on @most streams). */
const play = async (track: CompletedFile): Promise<CompletedFile> => {
  const album = loaded[track.torrent]!
  for await (const chunk of createReadStream(join(track.savefolder, album.paths[track.file]!))) {
    if (!process.stdout.write(chunk)) await once(process.stdout, 'drain')
  }
  return track
}

// one track at a time: concatMap starts a track only once the one before it is played
const played = concatMap((track: CompletedFile) => fromPromise(play(track)), orderedFiles(feedback))
const scheduler = newDefaultScheduler()
void runEffects(started, scheduler)
await runEffects(tap((t: CompletedFile) => process.stderr.write(`played album ${t.torrent} track ${t.file} (${loaded[t.torrent]!.paths[t.file]})\n`), played), scheduler)
process.stderr.write('all played\n')
