/**
 * BEP 6 Suggest Piece in the picker: among fresh pieces of equal
 * availability, the ones the peer suggested go first. A seed suggests what
 * it has in its cache, so taking those ties its way costs nothing in rarity
 * and saves it a disk read. Pure: a reordering of the rarest-first order.
 *
 * @internal
 * @module
 */

/**
 * `order` (grouped by availability, as RarityBuckets yields it) with, at the
 * start of each availability group, the `suggested` pieces of that
 * availability that are `fresh`, each once, newest suggestion first; the
 * group's other pieces follow in their own order. Without suggestions,
 * `order` itself (no extra work per piece).
 *
 * @param order fresh pieces, rarest first
 * @param suggested the peer's suggestions, oldest first
 * @param availability how many peers have a piece
 * @param fresh whether a piece is neither had, in progress nor verified (in `order`)
 *
 * @example
 * ```ts
 * // pieces 0..3 equally rare, piece 5 rarer; the peer suggested 2
 * [...suggestedFirst([5, 0, 1, 2, 3], [2], (p) => (p === 5 ? 1 : 2), () => true)] // [5, 2, 0, 1, 3]
 * ```
 */
export const suggestedFirst = (
  order: Iterable<number>,
  suggested: readonly number[],
  availability: (piece: number) => number,
  fresh: (piece: number) => boolean
): Iterable<number> => (suggested.length === 0 ? order : reorder(order, [...new Set(suggested)].reverse().filter(fresh), availability))

function* reorder(order: Iterable<number>, pending: readonly number[], availability: (piece: number) => number): Generator<number> {
  const given = new Set<number>()
  let level: number | null = null
  for (const p of order) {
    const a = availability(p)
    if (a !== level) {
      level = a
      for (const s of pending) {
        if (given.has(s) || availability(s) !== a) continue
        given.add(s)
        yield s
      }
    }
    if (!given.has(p)) yield p
  }
}
