/**
 * The engine parts the core uses (storage, hasher, checker), in one place.
 * TEMPORARY: a minimal local checker until the engine-parts checker.ts
 * lands; then this file only re-exports.
 *
 * @internal
 * @module
 */
import type { Hasher, Metainfo, Storage } from './contracts.ts'
import { Bitfield } from './bitfield.ts'

export { openFileStorage } from './file-storage.ts'

export { createHasher, type PoolHasher } from './hasher.ts'

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
