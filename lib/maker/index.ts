/**
 * Making .torrent files from local data.
 *
 * @module
 */
export { makeTorrent, defaultPieceLength, type MakeTorrentOptions } from './make-torrent.ts'
export { makeSeedCommand, type SeedCommand, type SeedCommandOptions } from './seed-command.ts'
