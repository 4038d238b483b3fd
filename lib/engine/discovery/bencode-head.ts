/**
 * A small, bounded bencode reader for extension messages: ut_metadata sends a
 * dictionary followed by raw bytes, so we need where the dictionary ends, and
 * PEX sends a flat dictionary. Hostile input never throws, never recurses
 * deeper than `maxDepth`, and integers outside the safe range are refused.
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

const D = 0x64; const L = 0x6c; const I = 0x69; const E = 0x65; const COLON = 0x3a

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
  if (data[0] !== D) return null
  const fields = new Map<string, HeadValue>()
  let pos = 1
  while (pos < data.length && data[pos] !== E) {
    const key = readBytes(data, pos)
    if (key === null) return null
    pos = key.end
    const keyText = latin1(key.value)
    const t = data[pos]
    if (t === I) {
      const n = readInt(data, pos)
      if (n === null) return null
      fields.set(keyText, n.value)
      pos = n.end
    } else if (t !== undefined && t >= 0x30 && t <= 0x39) {
      const s = readBytes(data, pos)
      if (s === null) return null
      fields.set(keyText, s.value)
      pos = s.end
    } else {
      const end = skip(data, pos, maxDepth - 1)
      if (end === null) return null
      pos = end
    }
  }
  if (data[pos] !== E) return null
  return { fields, end: pos + 1 }
}

function latin1 (b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!)
  return s
}

function readInt (data: Uint8Array, pos: number): { value: number; end: number } | null {
  // i<digits>e with at most 16 digits so the value stays a safe integer.
  let p = pos + 1
  let neg = false
  if (data[p] === 0x2d) { neg = true; p++ }
  const start = p
  let value = 0
  while (p < data.length && data[p] !== E) {
    const c = data[p]!
    if (c < 0x30 || c > 0x39 || p - start >= 16) return null
    value = value * 10 + (c - 0x30)
    p++
  }
  if (p === start || data[p] !== E) return null
  if (data[start] === 0x30 && (p - start > 1 || neg)) return null
  return { value: neg ? -value : value, end: p + 1 }
}

function readBytes (data: Uint8Array, pos: number): { value: Uint8Array; end: number } | null {
  let p = pos
  let len = 0
  const start = p
  while (p < data.length && data[p] !== COLON) {
    const c = data[p]!
    if (c < 0x30 || c > 0x39 || p - start >= 9) return null
    len = len * 10 + (c - 0x30)
    p++
  }
  if (p === start || data[p] !== COLON) return null
  const begin = p + 1
  if (begin + len > data.length) return null
  return { value: data.subarray(begin, begin + len), end: begin + len }
}

function skip (data: Uint8Array, pos: number, depth: number): number | null {
  if (depth < 0) return null
  const t = data[pos]
  if (t === I) return readInt(data, pos)?.end ?? null
  if (t !== undefined && t >= 0x30 && t <= 0x39) return readBytes(data, pos)?.end ?? null
  if (t === L || t === D) {
    let p = pos + 1
    while (p < data.length && data[p] !== E) {
      if (t === D) {
        const k = readBytes(data, p)
        if (k === null) return null
        p = k.end
      }
      const next = skip(data, p, depth - 1)
      if (next === null) return null
      p = next
    }
    return data[p] === E ? p + 1 : null
  }
  return null
}
