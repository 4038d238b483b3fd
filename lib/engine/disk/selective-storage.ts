/**
 * Storage for a file selection: the bytes of wanted files go to their files
 * in the save folder, the bytes of skipped files (which arrive only as the
 * skipped share of a piece that straddles a wanted file) go to a parts file
 * in the torrent's state folder, so nothing outside the wanted files appears
 * in the save folder. Reads come from wherever the bytes went, so hash
 * checks and uploads of straddling pieces see the whole piece.
 *
 * The parts file is one sparse file laid out like the torrent's byte space
 * (`<state folder>/<infohash>.parts`): its disk use is only the skipped
 * shares actually written, and it needs no index. When a skipped file
 * becomes wanted, the bytes it has in the parts file (its first and last
 * piece, the only ones a skipped file can receive) move into the file. A
 * file that exists on disk keeps its bytes there even when skipped later:
 * nothing already written is moved out or deleted.
 *
 * @module
 */
import { open, rm, stat as fsStat } from 'node:fs/promises'
import { constants } from 'node:fs'
import path from 'node:path'
import type { FileEntry } from '../contracts.ts'
import { fileOrder, firstEndingAfter } from './file-order.ts'
import { openFileStorage, type FileStorage, type FileStorageOptions } from './file-storage.ts'
import { makeFolder } from './make-folder.ts'

/** Options of {@link openSelectiveStorage}. */
export interface SelectiveStorageOptions extends Omit<FileStorageOptions, 'create' | 'readonly'> {
  /** Hex info hash: names the parts file. */
  readonly infoHash: string
  /** Bytes per piece (all but the last): a skipped file's bytes are only ever those of its first and last piece. */
  readonly pieceLength: number
  /** Per file: wanted (true) or skipped; aligned with `files`. */
  readonly wanted: readonly boolean[]
  /** Folder of the parts file; default `<save folder>/.torrent-patron`, beside the resume record. */
  readonly stateFolder?: string
}

/** A {@link FileStorage} that keeps skipped files out of the save folder. */
export interface SelectiveStorage extends FileStorage {
  /** Absolute path of the parts file (which may not exist). */
  readonly partsPath: string
  /** Marks file `i` wanted or skipped; a newly wanted file gets the bytes the parts file holds for it. */
  setWanted(i: number, wanted: boolean): Promise<void>
  /** True when file `i`'s bytes live in its own file (it is wanted, or was on disk already). */
  inSaveFolder(i: number): boolean
}

const HEX40 = /^[0-9a-f]{40}$/

/**
 * Where the parts file of `infoHash` lives under `stateFolder`.
 *
 * @example
 * ```ts
 * partsPath('/dl/.torrent-patron', meta.infoHash) // '/dl/.torrent-patron/<infohash>.parts'
 * ```
 */
export function partsPath(stateFolder: string, infoHash: string): string {
  if (!HEX40.test(infoHash)) throw new Error(`bad info hash ${JSON.stringify(infoHash)}`)
  return path.join(path.resolve(stateFolder), `${infoHash}.parts`)
}

/**
 * Opens a torrent's storage with a file selection.
 *
 * @example
 * ```ts
 * const storage = await openSelectiveStorage('/downloads', meta.files, {
 *   infoHash: meta.infoHash, pieceLength: meta.pieceLength, wanted: [true, false, true],
 * })
 * await storage.write(0, block)      // the share of file 1, if any, goes to the parts file
 * await storage.setWanted(1, true)   // file 1 appears, with the bytes kept so far
 * ```
 */
export async function openSelectiveStorage(folder: string, files: readonly FileEntry[], opts: SelectiveStorageOptions): Promise<SelectiveStorage> {
  if (opts.wanted.length !== files.length) throw new RangeError(`${opts.wanted.length} selection flags for ${files.length} files`)
  if (!Number.isSafeInteger(opts.pieceLength) || opts.pieceLength <= 0) throw new RangeError(`bad piece length ${opts.pieceLength}`)
  const stateFolder = opts.stateFolder ?? path.join(folder, '.torrent-patron')
  const parts = partsPath(stateFolder, opts.infoHash)
  const total = files.reduce((n, f) => Math.max(n, f.offset + f.length), 0)
  const routed = opts.wanted.map((w, i) => w && !files[i]!.pad)
  const { infoHash: _i, pieceLength: _p, wanted: _w, stateFolder: _s, ...fileOpts } = opts
  const disk = await openFileStorage(folder, files, { ...fileOpts, create: (i) => routed[i] === true })
  // files already on disk keep receiving their bytes
  const stats = await disk.stat()
  stats.forEach((s, i) => {
    if (s !== null) routed[i] = true
  })
  const partsStore = await openFileStorage(path.dirname(parts), [{ path: [path.basename(parts)], length: total, offset: 0, pad: false }], {
    maxOpenFiles: 1,
    create: () => false,
  })
  return new Selective(files, disk, partsStore, parts, routed, opts.pieceLength)
}

interface Run {
  readonly toFile: boolean
  readonly offset: number
  readonly length: number
}

class Selective implements SelectiveStorage {
  readonly freshReads = true as const
  /** Indices of files with bytes, sorted by offset. */
  private readonly order: number[]

  constructor(
    private readonly files: readonly FileEntry[],
    private readonly disk: FileStorage,
    private readonly parts: FileStorage,
    readonly partsPath: string,
    /** Per file: its bytes go to its own file. */
    private readonly routed: boolean[],
    private readonly pieceLength: number,
  ) {
    this.order = fileOrder(files)
  }

  get paths(): ReadonlyArray<string | null> {
    return this.disk.paths
  }

  inSaveFolder(i: number): boolean {
    return this.routed[i] === true
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    await Promise.all(
      this.runs(offset, data.length).map((r) =>
        (r.toFile ? this.disk : this.parts).write(r.offset, data.subarray(r.offset - offset, r.offset - offset + r.length)),
      ),
    )
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(length) || length < 0) return Promise.reject(new RangeError(`bad length ${length}`))
    return this.readInto(offset, new Uint8Array(length))
  }

  async readInto(offset: number, target: Uint8Array): Promise<Uint8Array> {
    const runs = this.runs(offset, target.length)
    if (runs.length === 1 && runs[0]!.toFile) return this.disk.readInto(offset, target)
    await Promise.all(
      runs.map((r) => (r.toFile ? this.disk : this.parts).readInto(r.offset, target.subarray(r.offset - offset, r.offset - offset + r.length))),
    )
    return target
  }

  async stat(): Promise<ReadonlyArray<{ size: number; mtimeMs: number } | null>> {
    const [own, partsStat] = await Promise.all([this.disk.stat(), this.parts.stat()])
    const p = partsStat[0] ?? null
    // a file whose bytes live in the parts file is as complete, and as recent, as the parts file
    return own.map((s, i) => (this.routed[i] || this.files[i]!.pad || this.files[i]!.length === 0 ? s : p === null ? null : { size: this.files[i]!.length, mtimeMs: p.mtimeMs }))
  }

  ensureFiles(): Promise<void> {
    return this.disk.ensureFiles()
  }

  async sync(): Promise<void> {
    await Promise.all([this.disk.sync(), this.parts.sync()])
  }

  async close(): Promise<void> {
    await Promise.all([this.disk.close(), this.parts.close()])
  }

  async setWanted(i: number, wanted: boolean): Promise<void> {
    const f = this.files[i]
    if (f === undefined) throw new RangeError(`no file #${i} (the torrent has ${this.files.length})`)
    if (!wanted || f.pad || this.routed[i]) return
    const target = this.disk.paths[i]!
    // the first and last piece of the file are the only ones a skipped file can have received
    const spans: Array<[number, number]> = []
    if (f.length > 0) {
      const firstEnd = Math.min(f.offset + f.length, (Math.floor(f.offset / this.pieceLength) + 1) * this.pieceLength)
      spans.push([f.offset, firstEnd])
      const lastStart = Math.max(firstEnd, Math.floor((f.offset + f.length - 1) / this.pieceLength) * this.pieceLength)
      if (lastStart < f.offset + f.length) spans.push([lastStart, f.offset + f.length])
    }
    const moved = await Promise.all(spans.map(async ([a, b]) => ({ at: a, bytes: await this.parts.read(a, b - a) })))
    this.routed[i] = true
    if (f.length === 0) {
      await makeFolder(path.dirname(target))
      await (await open(target, constants.O_RDWR | constants.O_CREAT, 0o666)).close()
    }
    for (const m of moved) await this.disk.write(m.at, m.bytes)
    await this.dropPartsIfUnused()
  }

  /** Deletes the parts file once every file with bytes lives in the save folder. */
  private async dropPartsIfUnused(): Promise<void> {
    if (this.files.some((f, i) => !f.pad && f.length > 0 && !this.routed[i])) return
    const exists = await fsStat(this.partsPath).then(() => true, () => false)
    if (exists) await rm(this.partsPath, { force: true })
  }

  /** Splits a torrent range into runs that go to the save folder or to the parts file. */
  private runs(offset: number, length: number): Run[] {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) throw new RangeError(`bad range ${offset}+${length}`)
    const end = offset + length
    const out: Run[] = []
    const push = (toFile: boolean, a: number, b: number) => {
      if (b <= a) return
      const last = out[out.length - 1]
      if (last !== undefined && last.toFile === toFile && last.offset + last.length === a) out[out.length - 1] = { toFile, offset: last.offset, length: b - last.offset }
      else out.push({ toFile, offset: a, length: b - a })
    }
    const lo = firstEndingAfter(this.files, this.order, offset)
    let at = offset
    for (let k = lo; k < this.order.length && at < end; k++) {
      const i = this.order[k]!
      const f = this.files[i]!
      if (f.offset >= end) break
      const a = Math.max(at, f.offset)
      const b = Math.min(end, f.offset + f.length)
      if (b <= a) continue
      if (a > at) push(true, at, a) // a gap between files: the disk storage zero-fills it
      // pad files go to the disk storage, which neither writes nor reads them
      push(f.pad || this.routed[i] === true, a, b)
      at = b
    }
    push(true, at, end) // past the last file: the disk storage reports the range error
    return out
  }
}
