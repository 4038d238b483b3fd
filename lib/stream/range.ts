/**
 * The `Range` request header (RFC 9110 §14.2) for one file: a single byte
 * range, in any of its three forms (`a-b`, `a-`, `-n`).
 *
 * @module
 */

/** A satisfiable range of a file: bytes [start, end), end exclusive. */
export interface ByteRange {
  /** First byte. */
  readonly start: number
  /** One past the last byte. */
  readonly end: number
}

/**
 * Reads a `Range` header against a file of `size` bytes: null to send the
 * whole file (no header, another unit, a malformed value, or several ranges:
 * the RFC lets a server ignore those), `'unsatisfiable'` for a range that
 * starts at or past the end (answer 416), else the range, its end clamped to
 * the file.
 *
 * @example
 * ```ts
 * parseRange('bytes=0-99', 1000)  // { start: 0, end: 100 }
 * parseRange('bytes=-100', 1000)  // { start: 900, end: 1000 }
 * parseRange('bytes=2000-', 1000) // 'unsatisfiable'
 * ```
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (header === undefined) return null
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (m === null) return null
  const [, a, b] = m as unknown as [string, string, string]
  if (a === '' && b === '') return null
  if (a === '') {
    // suffix: the last n bytes
    const n = Number(b)
    if (!Number.isSafeInteger(n)) return null
    if (n === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - n), end: size }
  }
  const start = Number(a)
  const last = b === '' ? size - 1 : Number(b)
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last)) return null
  if (b !== '' && last < start) return null // invalid: ignore the header
  if (start >= size) return 'unsatisfiable'
  return { start, end: Math.min(size, last + 1) }
}
