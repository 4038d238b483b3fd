/**
 * A torrent's byte space on disk: positional reads and writes that span file
 * boundaries, over a small LRU of open file handles. Folders and files are
 * created on first write; pad files (BEP 47) never touch the disk; regions
 * never written read as zeros.
 *
 * @module
 */
import { open, stat as fsStat, type FileHandle } from 'node:fs/promises'
import { constants, readSync, writeSync } from 'node:fs'
import path from 'node:path'
import type { FileEntry, Storage } from '../contracts.ts'
import { fileOrder, firstEndingAfter } from './file-order.ts'
import { makeFolder } from './make-folder.ts'
import { SyncIoGate } from '../policy/sync-io.ts'

/** Options of {@link openFileStorage}. */
export interface FileStorageOptions {
  /** Refuse writes (seeding or checking only); nothing is ever created. */
  readonly readonly?: boolean
  /** Extend each file to its full length (sparse) when it is first opened for writing. */
  readonly preallocate?: boolean
  /** Most file handles kept open at once (default 64). */
  readonly maxOpenFiles?: number
  /** Which files ensureFiles() (and so the first write) creates; default every non-pad file. Files written to are created regardless. */
  readonly create?: (file: number) => boolean
  /**
   * Write on the calling thread while the kernel takes writes quickly
   * (policy/sync-io.ts); default true. False sends every write through the
   * thread pool.
   */
  readonly syncWrites?: boolean
  /** Read on the calling thread while reads come quickly (from the page cache); default true. */
  readonly syncReads?: boolean
  /** Clock (ms) that times synchronous writes and reads; default `performance.now`. */
  readonly now?: () => number
}

/** {@link Storage} plus a few extras the engine may use. */
export interface FileStorage extends Storage {
  /** read() always resolves to a new buffer that the caller alone holds (so it may be transferred to a worker). */
  readonly freshReads: true
  /** Like read(), into the caller's buffer (every byte of it is overwritten; absent regions become zeros). */
  readInto(offset: number, target: Uint8Array): Promise<Uint8Array>
  /** Absolute paths of the torrent's files, aligned with `files` (null for pad files). */
  readonly paths: ReadonlyArray<string | null>
  /** Creates every non-pad file (zero-length ones included; those `create` allows) and its folders. Done automatically on the first write. */
  ensureFiles(): Promise<void>
  /** fdatasync every open handle, so written data survives a power cut before a resume record claims it. */
  sync(): Promise<void>
}

/**
 * Largest read done on the calling thread: an upload's span, a streamed
 * block. The checker's multi-MiB reads stay on the thread pool, where they
 * overlap with the hashing.
 */
export const SYNC_READ_MAX = 256 * 1024

interface HandleEntry {
  readonly handle: Promise<FileHandle>
  readonly writable: boolean
  users: number
  /** The open handle's descriptor once it resolved (-1 before, and once it is being closed). */
  fd: number
}

interface Segment {
  readonly file: number
  /** Position inside the file. */
  readonly position: number
  /** Position inside the caller's buffer. */
  readonly at: number
  readonly length: number
}

/** Error codes turned into a plain sentence, for status messages. */
const REASONS: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a path component is not a folder',
  EISDIR: 'a folder is in the way',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
}

function describe(err: unknown, doing: string, file: string): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code
  const reason = (code !== undefined && REASONS[code]) || (err instanceof Error ? err.message : String(err))
  const e = new Error(`${reason} ${doing} ${file}${code !== undefined ? ` (${code})` : ''}`, { cause: err })
  ;(e as NodeJS.ErrnoException).code = code
  return e
}

/**
 * Opens (lazily) the files of a torrent under `folder`. Every path is checked
 * to resolve strictly inside `folder`, even though metainfo parsing already
 * validated the names: a path that escapes rejects the returned promise.
 *
 * @example
 * ```ts
 * const storage = await openFileStorage('/downloads/album', metainfo.files)
 * await storage.write(0, block)               // may span several files
 * const bytes = await storage.read(0, 16384)  // zeros where nothing was written
 * await storage.close()
 * ```
 */
export async function openFileStorage(folder: string, files: readonly FileEntry[], opts: FileStorageOptions = {}): Promise<FileStorage> {
  const root = path.resolve(folder)
  const prefix = root.endsWith(path.sep) ? root : root + path.sep
  const paths = files.map((f, i) => {
    if (f.pad) return null
    if (f.path.length === 0 || f.path.some((c) => c === '' || c === '.' || c === '..' || c.includes('\0') || c.includes('/') || c.includes('\\'))) {
      throw new Error(`unsafe file path #${i}: ${JSON.stringify(f.path)}`)
    }
    const p = path.resolve(root, ...f.path)
    if (!p.startsWith(prefix)) throw new Error(`file path escapes the save folder: ${JSON.stringify(f.path)}`)
    return p
  })
  let total = 0
  for (const f of files) {
    if (!Number.isSafeInteger(f.offset) || !Number.isSafeInteger(f.length) || f.offset < 0 || f.length < 0) throw new Error('bad file geometry')
    total = Math.max(total, f.offset + f.length)
  }
  return new DiskStorage(files, paths, total, opts)
}

class DiskStorage implements FileStorage {
  readonly freshReads = true as const
  private readonly handles = new Map<number, HandleEntry>()
  private readonly maxOpen: number
  private readonly pending = new Set<Promise<unknown>>()
  /** Indices of files with bytes, sorted by offset (for binary search). */
  private readonly order: number[]
  private closed = false
  private closing: Promise<void> | null = null
  private created: Promise<void> | null = null
  /** ensureFiles() succeeded: writes need wait for nothing but their handles. */
  private ensured = false
  /** When writes may run synchronously (null: never). */
  private readonly gate: SyncIoGate | null
  /** When reads may run synchronously (null: never); apart from writes: a slow disk read says nothing of the page cache's writes. */
  private readonly readGate: SyncIoGate | null
  private readonly now: () => number

  constructor(
    private readonly files: readonly FileEntry[],
    readonly paths: ReadonlyArray<string | null>,
    private readonly total: number,
    private readonly opts: FileStorageOptions,
  ) {
    this.maxOpen = Math.max(1, opts.maxOpenFiles ?? 64)
    this.order = fileOrder(files)
    this.now = opts.now ?? (() => performance.now())
    this.gate = opts.syncWrites === false || opts.readonly === true ? null : new SyncIoGate(this.now)
    this.readGate = opts.syncReads === false ? null : new SyncIoGate(this.now)
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    if (this.gate !== null && this.ensured && !this.closed && this.gate.allowed()) {
      const done = this.writeNow(offset, data)
      if (done !== null) return done
    }
    return this.track(async () => {
      if (this.opts.readonly) throw new Error('storage is read-only')
      await this.ensureFiles()
      await Promise.all(
        this.segments(offset, data.length).map(async (s) => {
          if (this.files[s.file]!.pad) return
          await this.withHandle(s.file, true, async (h) => {
            let done = 0
            while (done < s.length) {
              const { bytesWritten } = await h.write(data, s.at + done, s.length - done, s.position + done)
              done += bytesWritten
            }
          })
        }),
      )
    })
  }

  /**
   * The range's segments when every file they touch has a handle open (a
   * writable one for `write`); null when one is not open yet; a rejected
   * promise for a range outside the torrent.
   */
  private openSegments(offset: number, length: number, write: boolean): Segment[] | Promise<never> | null {
    let segments: Segment[]
    try {
      segments = this.segments(offset, length)
    } catch (err) {
      return Promise.reject(err)
    }
    for (const s of segments) {
      if (this.files[s.file]!.pad) continue
      const e = this.handles.get(s.file)
      if (e === undefined || e.fd < 0 || (write && !e.writable)) return null
    }
    return segments
  }

  /**
   * The write on this thread, when every file it touches has a writable
   * handle open already (else null: the caller takes the thread pool path,
   * which opens them). Settled before it returns.
   */
  private writeNow(offset: number, data: Uint8Array): Promise<void> | null {
    const segments = this.openSegments(offset, data.length, true)
    if (segments === null || segments instanceof Promise) return segments
    const started = this.now()
    for (const s of segments) {
      if (this.files[s.file]!.pad) continue
      const e = this.handles.get(s.file)!
      // LRU: most recent last (as withHandle keeps it).
      this.handles.delete(s.file)
      this.handles.set(s.file, e)
      const fd = e.fd
      try {
        let done = 0
        while (done < s.length) done += writeSync(fd, data, s.at + done, s.length - done, s.position + done)
      } catch (err) {
        return Promise.reject(describe(err, 'writing', this.paths[s.file]!))
      }
    }
    this.gate!.took(this.now() - started)
    return Promise.resolve()
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(length) || length < 0) return Promise.reject(new RangeError(`bad length ${length}`))
    return this.readInto(offset, new Uint8Array(length))
  }

  readInto(offset: number, out: Uint8Array): Promise<Uint8Array> {
    if (this.readGate !== null && out.length <= SYNC_READ_MAX && !this.closed && this.readGate.allowed()) {
      const done = this.readNow(offset, out)
      if (done !== null) return done
    }
    return this.track(async () => {
      const segments = this.segments(offset, out.length)
      // files are contiguous in valid metainfo; if not, the gaps must not keep stale bytes
      if (segments.reduce((n, s) => n + s.length, 0) !== out.length) out.fill(0)
      await Promise.all(
        segments.map(async (s) => {
          let done = 0
          if (!this.files[s.file]!.pad) {
            await this.withHandle(s.file, false, async (h) => {
              while (done < s.length) {
                const { bytesRead } = await h.read(out, s.at + done, s.length - done, s.position + done)
                if (bytesRead === 0) break // past the end of a short file
                done += bytesRead
              }
            })
          }
          // pad files, absent files and the missing tail of short files read as zeros
          if (done < s.length) out.fill(0, s.at + done, s.at + s.length)
        }),
      )
      return out
    })
  }

  /**
   * The read on this thread, when every file it touches has a handle open
   * already (else null: the thread pool path opens them). Settled before it
   * returns. Reads that miss the page cache wait for the disk: the gate
   * (policy/sync-io.ts) sends reads back to the thread pool after a slow one.
   */
  private readNow(offset: number, out: Uint8Array): Promise<Uint8Array> | null {
    const segments = this.openSegments(offset, out.length, false)
    if (segments === null || segments instanceof Promise) return segments
    if (segments.reduce((n, s) => n + s.length, 0) !== out.length) out.fill(0)
    const started = this.now()
    for (const s of segments) {
      let done = 0
      if (!this.files[s.file]!.pad) {
        const e = this.handles.get(s.file)!
        this.handles.delete(s.file)
        this.handles.set(s.file, e)
        try {
          while (done < s.length) {
            const n = readSync(e.fd, out, s.at + done, s.length - done, s.position + done)
            if (n === 0) break // past the end of a short file
            done += n
          }
        } catch (err) {
          return Promise.reject(describe(err, 'reading', this.paths[s.file]!))
        }
      }
      if (done < s.length) out.fill(0, s.at + done, s.at + s.length)
    }
    this.readGate!.took(this.now() - started)
    return Promise.resolve(out)
  }

  stat(): Promise<ReadonlyArray<{ size: number; mtimeMs: number } | null>> {
    return this.track(() =>
      Promise.all(
        this.paths.map(async (p) => {
          if (p === null) return null
          try {
            const s = await fsStat(p)
            return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : null
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code
            if (code === 'ENOENT' || code === 'ENOTDIR') return null
            throw describe(err, 'checking', p)
          }
        }),
      ),
    )
  }

  ensureFiles(): Promise<void> {
    if (this.opts.readonly) return Promise.reject(new Error('storage is read-only'))
    // one attempt shared by all writers; a failure is retried by the next write
    this.created ??= (async () => {
      for (let i = 0; i < this.files.length; i++) {
        if (this.paths[i] === null || this.opts.create?.(i) === false) continue
        await this.withHandle(i, true, async () => {})
      }
      this.ensured = true
    })().catch((err) => {
      this.created = null
      throw err
    })
    return this.created
  }

  sync(): Promise<void> {
    return this.track(async () => {
      await Promise.all(
        [...this.handles.values()].filter((e) => e.writable).map(async (e) => (await e.handle).datasync()),
      )
    })
  }

  close(): Promise<void> {
    this.closed = true
    this.closing ??= (async () => {
      await Promise.allSettled([...this.pending])
      const entries = [...this.handles.values()]
      this.handles.clear()
      await Promise.allSettled(entries.map(async (e) => (await e.handle).close()))
    })()
    return this.closing
  }

  // ---- internals ----

  /** Runs an operation unless closed, and lets close() wait for it. */
  private track<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('storage is closed'))
    const p = op()
    this.pending.add(p)
    const done = () => this.pending.delete(p)
    p.then(done, done)
    return p
  }

  /** Splits a torrent range into per-file pieces. */
  private segments(offset: number, length: number): Segment[] {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.total) {
      throw new RangeError(`range ${offset}+${length} outside the torrent (${this.total} bytes)`)
    }
    const out: Segment[] = []
    if (length === 0) return out
    const lo = firstEndingAfter(this.files, this.order, offset)
    const end = offset + length
    for (let k = lo; k < this.order.length; k++) {
      const i = this.order[k]!
      const f = this.files[i]!
      if (f.offset >= end) break
      const from = Math.max(offset, f.offset)
      const to = Math.min(end, f.offset + f.length)
      if (to > from) out.push({ file: i, position: from - f.offset, at: from - offset, length: to - from })
    }
    return out
  }

  /** Runs `use` with an open handle of file `i`; for reads, a missing file runs nothing (zeros). */
  private async withHandle(i: number, write: boolean, use: (h: FileHandle) => Promise<void>): Promise<void> {
    let entry = this.handles.get(i)
    if (entry !== undefined && write && !entry.writable) {
      // reopen read-write once nobody uses the read-only handle
      this.handles.delete(i)
      const old = entry
      if (old.users === 0) old.handle.then((h) => h.close(), () => {})
      else void this.closeWhenIdle(old)
      entry = undefined
    }
    if (entry === undefined) {
      entry = { handle: this.openFile(i, write), writable: write, users: 0, fd: -1 }
      this.handles.set(i, entry)
      const opened = entry
      entry.handle.then((h) => {
        if (this.handles.get(i) === opened) opened.fd = h.fd
      }, () => {})
      // a failed open must not stay cached
      entry.handle.catch(() => {
        if (this.handles.get(i) === entry) this.handles.delete(i)
      })
    } else {
      this.handles.delete(i) // LRU: most recent last
      this.handles.set(i, entry)
    }
    entry.users++
    try {
      let h: FileHandle
      try {
        h = await entry.handle
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (!write && (code === 'ENOENT' || code === 'ENOTDIR')) return
        throw describe(err, write ? 'writing' : 'reading', this.paths[i]!)
      }
      try {
        await use(h)
      } catch (err) {
        throw describe(err, write ? 'writing' : 'reading', this.paths[i]!)
      }
    } finally {
      entry.users--
      this.evict()
    }
  }

  private async openFile(i: number, write: boolean): Promise<FileHandle> {
    const p = this.paths[i]!
    if (!write) return open(p, 'r')
    await makeFolder(path.dirname(p))
    // O_CREAT without O_TRUNC or O_APPEND: keeps existing data, and positional writes stay positional
    const h = await open(p, constants.O_RDWR | constants.O_CREAT, 0o666)
    if (this.opts.preallocate) {
      const len = this.files[i]!.length
      if ((await h.stat()).size < len) await h.truncate(len)
    }
    return h
  }

  private async closeWhenIdle(entry: HandleEntry): Promise<void> {
    while (entry.users > 0) await new Promise((r) => setImmediate(r))
    await entry.handle.then((h) => h.close(), () => {})
  }

  private evict(): void {
    if (this.handles.size <= this.maxOpen) return
    for (const [i, e] of this.handles) {
      if (this.handles.size <= this.maxOpen) break
      if (e.users > 0) continue
      this.handles.delete(i)
      e.handle.then((h) => h.close(), () => {})
    }
  }
}
