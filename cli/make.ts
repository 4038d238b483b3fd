/**
 * `torrent-patron make <path> --announce URL [-o out.torrent]`: make a .torrent.
 *
 * @module
 */
import { stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseMetainfo } from '../lib/engine/metainfo/index.ts'
import { makeTorrent } from '../lib/maker/index.ts'
import { onePositional, parse } from './args.ts'
import { CliError, reasonOf, usageError } from './errors.ts'
import { bytes } from './ui/format.ts'

export const help = `Usage: torrent-patron make <path> --announce URL [options]

Make a .torrent of a file or a folder.

Options:
  -a, --announce URL     tracker URL (repeat for backup trackers; required)
  -o, --output FILE      where to write the .torrent (default: <name>.torrent here)
  -l, --piece-length N   bytes per piece, a power of two from 16 KiB to 64 MiB,
                         or its exponent, 14 to 26, as mktorrent's -l (default:
                         chosen by size)
      --private          set the private flag (peers only from the trackers)
      --v2               make a BitTorrent v2 torrent (BEP 52: SHA-256 merkle trees)
      --hybrid           make a hybrid torrent: v1 (with BEP 47 pad files) and v2 in one
  -c, --comment TEXT     comment stored in the torrent
  -h, --help             show this help`

const MIN_LOG2 = 14
const MAX_LOG2 = 26

/**
 * `--piece-length`: bytes, a power of two from 16 KiB to 64 MiB; a number
 * from 14 to 26 is that power's exponent, as mktorrent's `-l` reads it
 * (no piece is shorter than 16 KiB, so the two readings never collide).
 */
export const parsePieceLength = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const n = Number(text)
  if (/^\d+$/.test(text)) {
    if (n >= MIN_LOG2 && n <= MAX_LOG2) return 2 ** n
    if (n >= 2 ** MIN_LOG2 && n <= 2 ** MAX_LOG2 && (n & (n - 1)) === 0) return n
  }
  throw usageError(`--piece-length wants a power of two from 16384 to 67108864 bytes, or its exponent from ${MIN_LOG2} to ${MAX_LOG2}, not "${text}"`, 'make')
}

/** Options of {@link makeTorrentFile}. */
export interface MakeOptions {
  readonly announce: readonly string[]
  readonly output?: string
  readonly pieceLength?: number
  readonly private?: boolean
  readonly comment?: string
  readonly version?: 'v1' | 'v2' | 'hybrid'
}

/** Make the .torrent of `source` and write it; returns its path and bytes. One-line errors. */
export const makeTorrentFile = async (source: string, opts: MakeOptions): Promise<{ file: string; bytes: Uint8Array }> => {
  try {
    await stat(source)
  } catch (e) {
    throw new CliError(`cannot read ${source}: ${reasonOf(e)}`)
  }
  const file = path.resolve(opts.output ?? `${path.basename(path.resolve(source))}.torrent`)
  let torrent: Uint8Array
  try {
    torrent = await makeTorrent(source, {
      announce: opts.announce,
      ...(opts.pieceLength === undefined ? {} : { pieceLength: opts.pieceLength }),
      ...(opts.private === undefined ? {} : { private: opts.private }),
      ...(opts.comment === undefined ? {} : { comment: opts.comment }),
      ...(opts.version === undefined ? {} : { version: opts.version })
    })
  } catch (e) {
    throw new CliError(`cannot make a torrent of ${source}: ${reasonOf(e)}`)
  }
  try {
    await writeFile(file, torrent)
  } catch (e) {
    throw new CliError(`cannot write ${file}: ${reasonOf(e)}`)
  }
  return { file, bytes: torrent }
}

/** Run `make`; returns the exit code. */
export const make = async (argv: readonly string[]): Promise<number> => {
  const { values, positionals } = parse('make', argv, {
    announce: { type: 'string', short: 'a', multiple: true },
    output: { type: 'string', short: 'o' },
    'piece-length': { type: 'string', short: 'l' },
    private: { type: 'boolean' },
    comment: { type: 'string', short: 'c' },
    v2: { type: 'boolean' },
    hybrid: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help) {
    console.log(help)
    return 0
  }
  const source = onePositional('make', positionals, 'path of the file or folder')
  const announce = values.announce ?? []
  if (announce.length === 0) throw usageError('--announce URL is required', 'make')
  if (values.v2 === true && values.hybrid === true) throw usageError('--v2 and --hybrid exclude each other (a hybrid is v1 and v2)', 'make')
  const version = values.v2 === true ? 'v2' : values.hybrid === true ? 'hybrid' : undefined
  const pieceLength = parsePieceLength(values['piece-length'])
  const { file, bytes: torrent } = await makeTorrentFile(source, {
    announce,
    ...(values.output === undefined ? {} : { output: values.output }),
    ...(pieceLength === undefined ? {} : { pieceLength }),
    ...(values.private === undefined ? {} : { private: values.private }),
    ...(values.comment === undefined ? {} : { comment: values.comment }),
    ...(version === undefined ? {} : { version })
  })
  const parsed = await parseMetainfo(torrent, { acceptV2Only: true })
  const m = parsed.ok ? parsed.value : undefined
  const hashes = m === undefined ? '' : m.version === 'v2' ? `v2 ${m.v2?.infoHash ?? ''}` : m.version === 'hybrid' ? `${m.infoHash}, v2 ${m.v2?.infoHash ?? ''}` : m.infoHash
  const summary = m === undefined ? '' : ` (${hashes}, ${bytes(m.fileBytes ?? m.length)} in ${m.pieceCount} pieces)`
  console.log(`wrote ${file}${summary}`)
  return 0
}
