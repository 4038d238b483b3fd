/**
 * The view of a bencoded dictionary that extension messages need: ut_metadata
 * sends a dictionary followed by raw bytes, so we need where the dictionary
 * ends, and PEX sends a flat dictionary. Decoding is done by the project's one
 * hardened decoder (metainfo/bdecode-guard.ts: iterative, depth and size
 * bounded, never throws); this keeps only the top-level integers and strings.
 *
 * @internal
 * @module
 */

/** A top-level value we keep: integers and byte strings (nested values are skipped). */
export type HeadValue = number | Uint8Array

/** A decoded top-level dictionary and the offset just past it. */
export interface DictHead {
  readonly fields: ReadonlyMap<string, HeadValue>
  readonly end: number
}

import { bdecode, isDict } from '../metainfo/bdecode-guard.ts'

/** An extension message is small: a cap far below the metainfo's. */
const MAX_VALUES = 10_000

/**
 * Decode the dictionary that starts at `data[0]`, ignoring what follows it.
 * Returns null for anything that is not a well-formed dictionary.
 *
 * @example
 * const head = readDictHead(new TextEncoder().encode('d8:msg_typei1e5:piecei0eeRAW'))
 * head?.fields.get('piece') // 0
 * head?.end                  // 27: the raw trailer starts here
 */
export function readDictHead (data: Uint8Array, maxDepth = 8): DictHead | null {
  if (data[0] !== 0x64) return null
  const r = bdecode(data, { maxDepth, maxValues: MAX_VALUES, allowTrailing: true })
  if (!r.ok || !isDict(r.value)) return null
  const fields = new Map<string, HeadValue>()
  for (const [key, value] of r.value) {
    // Nested values and integers beyond 2^53 are of no use to these extensions.
    if (typeof value === 'number' || value instanceof Uint8Array) fields.set(key, value)
  }
  return { fields, end: r.end }
}
