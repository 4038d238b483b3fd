/**
 * Finding the files a torrent range touches: the files with bytes sorted by
 * offset, and a binary search for the first one that ends past an offset.
 * Shared by the file storage and the selective storage, which both split
 * ranges by file.
 *
 * @internal
 * @module
 */
import type { FileEntry } from '../contracts.ts'

/**
 * Indices of the files that hold bytes, sorted by offset.
 *
 * @example
 * ```ts
 * const order = fileOrder(meta.files)
 * for (let k = firstEndingAfter(meta.files, order, offset); k < order.length; k++) { const f = meta.files[order[k]!]! ... }
 * ```
 */
export const fileOrder = (files: readonly FileEntry[]): number[] =>
  files
    .map((_, i) => i)
    .filter((i) => files[i]!.length > 0)
    .sort((a, b) => files[a]!.offset - files[b]!.offset)

/**
 * Position in `order` (from {@link fileOrder}) of the first file whose end is
 * past `offset`; the last position when none is (callers stop at the range's end).
 */
export const firstEndingAfter = (files: readonly FileEntry[], order: readonly number[], offset: number): number => {
  let lo = 0
  let hi = order.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    const f = files[order[mid]!]!
    if (f.offset + f.length <= offset) lo = mid + 1
    else hi = mid
  }
  return lo
}
