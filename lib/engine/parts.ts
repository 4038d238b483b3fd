/**
 * The engine parts the core uses (storage, hasher, checker), in one place.
 * TEMPORARY: minimal local hasher and checker until the engine-parts
 * modules (hasher.ts, checker.ts) land; then this file only re-exports them.
 *
 * @internal
 * @module
 */
import { createHash } from 'node:crypto'
import type { Hasher, Metainfo, Storage } from './contracts.ts'
import { Bitfield } from './bitfield.ts'

export { openFileStorage } from './file-storage.ts'

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
