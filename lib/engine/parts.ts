/**
 * The engine parts the core uses (storage, hasher, checker), in one place.
 * TEMPORARY: minimal local versions until the engine-parts modules
 * (file-storage.ts, hasher.ts, checker.ts) land; then this file only
 * re-exports them.
 *
 * @internal
 * @module
 */
import { createHash } from 'node:crypto'
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import type { FileEntry, Hasher, Metainfo, Storage } from './contracts.ts'
import { Bitfield } from './bitfield.ts'

export const openFileStorage = async (folder: string, files: readonly FileEntry[]): Promise<Storage> => {
  const handles = new Map<number, Promise<FileHandle>>()
  const real = files.map((f, i) => ({ f, i })).filter(({ f }) => !f.pad && f.length > 0)
  const full = (f: FileEntry): string => {
    const p = path.resolve(folder, ...f.path)
    if (!p.startsWith(folder + path.sep)) throw new Error(`path escapes the save folder: ${p}`)
    return p
  }
  const handle = (i: number, create: boolean): Promise<FileHandle> | null => {
    let h = handles.get(i)
    if (h) return h
    const f = files[i]!
    if (!create) return null
    h = (async () => {
      const p = full(f)
      await mkdir(path.dirname(p), { recursive: true })
      try {
        return await open(p, 'r+')
      } catch {
        return await open(p, 'w+')
      }
    })()
    handles.set(i, h)
    return h
  }
  const spans = (offset: number, length: number) =>
    real.filter(({ f }) => f.offset < offset + length && f.offset + f.length > offset)
  return {
    async write(offset, data) {
      await Promise.all(
        spans(offset, data.length).map(async ({ f, i }) => {
          const start = Math.max(offset, f.offset)
          const end = Math.min(offset + data.length, f.offset + f.length)
          const fh = await handle(i, true)!
          await fh.write(data, start - offset, end - start, start - f.offset)
        })
      )
    },
    async read(offset, length) {
      const out = Buffer.alloc(length)
      await Promise.all(
        spans(offset, length).map(async ({ f, i }) => {
          const start = Math.max(offset, f.offset)
          const end = Math.min(offset + length, f.offset + f.length)
          let fh = handle(i, false)
          if (!fh) {
            try {
              fh = open(full(f), 'r')
              await fh
              handles.set(i, fh)
            } catch {
              return
            }
          }
          await (await fh).read(out, start - offset, end - start, start - f.offset)
        })
      )
      return out
    },
    async stat() {
      return Promise.all(
        files
          .filter((f) => !f.pad)
          .map(async (f) => {
            try {
              const s = await stat(full(f))
              return { size: s.size, mtimeMs: s.mtimeMs }
            } catch {
              return null
            }
          })
      )
    },
    async close() {
      const hs = [...handles.values()]
      handles.clear()
      await Promise.allSettled(hs.map(async (h) => (await h).close()))
    }
  }
}

export const createHasher = (_opts: { workers?: number } = {}): Hasher => ({
  async verify(chunks, expected) {
    const h = createHash('sha1')
    for (const c of chunks) h.update(c)
    return Buffer.from(expected).equals(h.digest())
  },
  async close() {}
})

export const checkExisting = async (
  storage: Storage,
  meta: Metainfo,
  hasher: Hasher,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal
): Promise<Bitfield> => {
  const bits = new Bitfield(meta.pieceCount)
  for (let i = 0; i < meta.pieceCount; i++) {
    if (signal?.aborted) break
    const len = i === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength
    const buf = await storage.read(i * meta.pieceLength, len)
    if (await hasher.verify([buf], meta.pieceHashes.subarray(i * 20, i * 20 + 20))) bits.set(i)
    onProgress?.(i + 1, meta.pieceCount)
  }
  return bits
}
