/**
 * Kamaelia's radio made a .torrent of each new chunk and had a patron seed it
 * at once. This is that one step at message level: make the .torrent of a file
 * or folder and build the CreateNewTorrent that seeds it where it lies.
 *
 * @module
 */
import { basename, dirname, resolve } from 'node:path'
import { createNewTorrent, type CreateNewTorrent } from '../messages.ts'
import { makeTorrent, type MakeTorrentOptions } from './make-torrent.ts'

/**
 * Options of {@link makeSeedCommand}: those of {@link makeTorrent} except the
 * name (the data is seeded where it lies, so the torrent is named after it),
 * plus peers to offer it to.
 *
 * @example
 * ```ts
 * const options: SeedCommandOptions = { announce: 'http://127.0.0.1:8000/announce', peers: ['127.0.0.1:6881'] }
 * ```
 */
export interface SeedCommandOptions extends Omit<MakeTorrentOptions, 'name'> {
  /** Peers (`host:port`) to connect to besides the trackers. */
  readonly peers?: readonly string[]
}

/**
 * A made torrent and the command that seeds it.
 *
 * @example
 * ```ts
 * const made: SeedCommand = await makeSeedCommand('share/album', { announce: 'http://tracker.example/announce' })
 * await writeFile('album.torrent', made.torrent)
 * ```
 */
export interface SeedCommand {
  /** The .torrent's bytes, to publish (write to a file, serve over HTTP...). */
  readonly torrent: Uint8Array
  /** Send this to a patron: the engine checks the data in place, then seeds it. */
  readonly command: CreateNewTorrent
}

/**
 * Make a .torrent of `path` and the {@link CreateNewTorrent} that seeds it
 * from where it lies (save folder: the folder holding `path`).
 *
 * @example
 * ```ts
 * import { now } from '@most/core'
 * const { torrent, command } = await makeSeedCommand('radio/chunk-0001.ogg', { announce: 'http://tracker/announce' })
 * await writeFile('chunk-0001.torrent', torrent)
 * const feedback = torrentPatron(service)(now(command))
 * ```
 */
export async function makeSeedCommand (path: string, options: SeedCommandOptions): Promise<SeedCommand> {
  const absolute = resolve(path)
  const { peers, ...make } = options
  const torrent = await makeTorrent(absolute, { ...make, name: basename(absolute) })
  const command = createNewTorrent(torrent, peers === undefined ? { savefolder: dirname(absolute) } : { savefolder: dirname(absolute), peers })
  return { torrent, command }
}
