/**
 * Seed a file or folder in one step, as a stream of commands for a patron.
 *
 * @module
 */
import { chain, fromPromise, map, now } from '@most/core'
import type { Stream } from '@most/types'
import type { CreateNewTorrent } from '../lib/messages.ts'
import { makeSeedCommand, type SeedCommand, type SeedCommandOptions } from '../lib/maker/seed-command.ts'

/**
 * One {@link CreateNewTorrent} that seeds `path` where it lies, emitted once
 * its .torrent is made (the making starts when the stream is run, not before); `onTorrent` receives the .torrent's bytes to publish.
 * A failure to make the torrent (missing path, unreadable file) is an error
 * on the returned stream.
 *
 * @example
 * ```ts
 * const feedback = torrentPatron(service)(
 *   seedPath('photos', { announce: 'http://127.0.0.1:8000/announce' }, (t) => writeFile('photos.torrent', t)))
 * ```
 */
export const seedPath = (
  path: string,
  options: SeedCommandOptions,
  onTorrent: (torrent: Uint8Array) => void = () => {}
): Stream<CreateNewTorrent> =>
  map((made: SeedCommand) => {
    onTorrent(made.torrent)
    return made.command
  }, chain(() => fromPromise(makeSeedCommand(path, options)), now(undefined)))
