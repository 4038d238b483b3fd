/**
 * The .torrent that `seed <path>` shares: `<path>.torrent` when it already
 * describes the data (kept as it is, trackers and all), a new one otherwise.
 * A `<path>.torrent` that describes other data is never replaced silently:
 * that takes `--force`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { parseMetainfo } from '../lib/engine/metainfo/index.ts'
import { makeTorrent } from '../lib/maker/index.ts'
import { CliError, reasonOf, usageError } from './errors.ts'
import { makeTorrentFile } from './make.ts'

/** What {@link torrentForPath} did. */
export interface PathTorrent {
  /** The .torrent's path. */
  readonly file: string
  /** `made`: written now; `reused`: it was there and matches the data. */
  readonly how: 'made' | 'reused'
  /** The trackers in the file, when they differ from the `--announce` given (the file's win). */
  readonly keptTrackers?: readonly string[]
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * Find or make the torrent of `source` at `${source}.torrent`. The comparison
 * hashes the data with the existing torrent's piece length and flags, so it
 * holds exactly when the info hashes agree.
 */
export const torrentForPath = async (source: string, opts: { announce?: readonly string[]; force: boolean }): Promise<PathTorrent> => {
  const file = `${source}.torrent`
  const old = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined
    throw new CliError(`cannot read ${file}: ${reasonOf(e)}`)
  })
  const make = async (): Promise<PathTorrent> => {
    if (opts.announce === undefined) throw usageError('--announce URL is required to make a torrent of a path', 'seed')
    await makeTorrentFile(source, { announce: opts.announce, output: file })
    return { file, how: 'made' }
  }
  if (old === undefined || opts.force) return make()
  const parsed = await parseMetainfo(old)
  if (!parsed.ok) throw new CliError(`${file} is there but is not a valid torrent (${parsed.reason}); --force replaces it`)
  const meta = parsed.value
  let fresh: Uint8Array
  try {
    fresh = await makeTorrent(source, { announce: meta.announce[0] ?? 'http://127.0.0.1/announce', pieceLength: meta.pieceLength, private: meta.private, name: meta.name })
  } catch (e) {
    throw new CliError(`cannot make a torrent of ${source}: ${reasonOf(e)}`)
  }
  const now = await parseMetainfo(fresh)
  if (!now.ok || now.value.infoHash !== meta.infoHash) {
    throw new CliError(`${file} is there and describes other data (info hash ${meta.infoHash}); --force replaces it`)
  }
  const differs = opts.announce !== undefined && !sameList(opts.announce, meta.announce)
  return { file, how: 'reused', ...(differs ? { keptTrackers: meta.announce } : {}) }
}
