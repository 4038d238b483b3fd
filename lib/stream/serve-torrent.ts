/**
 * A running torrent's readers (the engine's TorrentStreams) as a
 * {@link ServedTorrent} for the HTTP server.
 *
 * @module
 */
import type { Readable } from 'node:stream'
import type { ServedFile, ServedTorrent } from './http-server.ts'

/**
 * The reading side of a running torrent, as the engine's torrent handle offers it.
 *
 * @example
 * ```ts
 * const readers: TorrentReaders | undefined = handle.streams()
 * ```
 */
export interface TorrentReaders {
  /** The torrent's files, pad files not counted. */
  files(): readonly ServedFile[]
  /** File bytes start..end, end inclusive (like fs.createReadStream). */
  createReadStream(file: number, opts: { start?: number; end?: number }): Readable
  /** Verified fraction of each file. */
  fileProgress(): number[]
}

/**
 * Serves `readers` under `id`.
 *
 * @example
 * ```ts
 * const served = servedTorrent(torrentid, 'my video', handle.streams)
 * const srv = await startStreamServer({ list: () => [served] })
 * ```
 */
export function servedTorrent(id: string, name: string, readers: TorrentReaders): ServedTorrent {
  return {
    id,
    name,
    files: () => readers.files().map((f) => ({ name: f.name, length: f.length })),
    createReadStream: (file, { start, end }) => readers.createReadStream(file, { start, end: end - 1 }),
    progress: () => {
      const files = readers.fileProgress()
      const all = readers.files()
      const total = all.reduce((n, f) => n + f.length, 0)
      const done = all.reduce((n, f, i) => n + f.length * (files[i] ?? 0), 0)
      return { fractionDone: total === 0 ? 1 : done / total, files }
    },
  }
}
