/**
 * What the user points the CLI at: a .torrent file or a magnet URI, read
 * and checked up front so that mistakes are reported before any engine runs.
 *
 * @module
 */
import { access, constants, readFile, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import type { Magnet, Metainfo } from '../lib/index.ts'
import { parseMagnet, parseMetainfo, type ParseOptions } from '../lib/engine/metainfo/index.ts'
import { makeFolder } from '../lib/engine/disk/make-folder.ts'
import { CliError, reasonOf } from './errors.ts'

/** A parsed .torrent file. */
export interface TorrentFileInput {
  readonly kind: 'torrent'
  readonly file: string
  readonly bytes: Uint8Array
  readonly meta: Metainfo
}

/** A parsed magnet URI. */
export interface MagnetInput {
  readonly kind: 'magnet'
  readonly uri: string
  readonly magnet: Magnet
}

export type TorrentInput = TorrentFileInput | MagnetInput

/** Read and validate a .torrent file; one-line errors for a missing file or bad contents. */
export const readTorrentFile = async (file: string, opts: ParseOptions = {}): Promise<TorrentFileInput> => {
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${reasonOf(e)}`)
  }
  const parsed = await parseMetainfo(bytes, opts)
  if (!parsed.ok) throw new CliError(`${file} is not a valid torrent: ${parsed.reason}`)
  return { kind: 'torrent', file, bytes, meta: parsed.value }
}

/** A magnet URI or the path of a .torrent file the engine can run. */
export const readTorrentInput = async (arg: string): Promise<TorrentInput> => readInput(arg, {})

/** A magnet URI or the path of a .torrent file of any BitTorrent version, v2-only included (to describe it). */
export const readAnyTorrentInput = async (arg: string): Promise<TorrentInput> => readInput(arg, { acceptV2Only: true })

const readInput = async (arg: string, opts: ParseOptions): Promise<TorrentInput> => {
  if (arg.toLowerCase().startsWith('magnet:')) {
    const parsed = parseMagnet(arg, opts)
    if (!parsed.ok) throw new CliError(`not a valid magnet link: ${parsed.reason}`)
    return { kind: 'magnet', uri: arg, magnet: parsed.value }
  }
  return readTorrentFile(arg, opts)
}

/** Create `folder` if needed and check that we may write there. */
export const ensureWritableFolder = async (folder: string): Promise<string> => {
  const abs = path.resolve(folder)
  try {
    const s = await stat(abs).catch(() => undefined)
    if (s !== undefined && !s.isDirectory()) throw new CliError(`cannot write to ${abs}: not a directory`)
    await makeFolder(abs)
    await access(abs, constants.W_OK)
  } catch (e) {
    if (e instanceof CliError) throw e
    throw new CliError(`cannot write to ${abs}: ${reasonOf(e)}`)
  }
  return abs
}

/** Fail early, in one line, when a port the user asked for is taken. */
export const ensurePortFree = (port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    if (port === 0) return resolve()
    const server = createServer()
    server.once('error', (e) => reject(new CliError(`port ${port} is not available: ${reasonOf(e)}`)))
    server.listen(port, () => server.close(() => resolve()))
  })
