/**
 * A strict, iterative bencode decoder for untrusted bytes.
 *
 * Why not `bencode.decode`: it recurses (deep nesting overflows the stack), it
 * accepts malformed integers (`i03e`, `i-0e`, `i1.5e`) and strings that run past
 * the end, it builds dictionaries as plain objects (a `__proto__` key swaps the
 * prototype), and it cannot tell where the `info` dictionary's bytes are.
 * This decoder uses an explicit stack, enforces the depth / value / integer
 * limits while it scans, refuses duplicate keys (two clients could otherwise read
 * different values under one info hash), and records the exact byte span of each
 * value of the top-level dictionary so the info hash is taken over the original
 * bytes, never over a re-encoding.
 *
 * @module
 */
import { Buffer } from 'node:buffer'
import { MAX_BENCODE_DEPTH, MAX_BENCODE_VALUES, MAX_INTEGER_DIGITS } from './limits.ts'

/** A decoded bencode value: integers are numbers when safe, else bigint; strings stay bytes. */
export type BValue = number | bigint | Uint8Array | BList | BDict
export type BList = BValue[]
/** Dictionary keyed by the key's raw bytes read as latin1 (one char per byte, lossless). */
export type BDict = Map<string, BValue>

/** Limits for {@link bdecode}; defaults come from limits.ts. */
export interface DecodeLimits {
  /** Deepest list/dictionary nesting allowed. */
  readonly maxDepth: number
  /** Most values (of any type) in the document. */
  readonly maxValues: number
  /**
   * Ignore bytes after the first complete value. libtorrent does, and real
   * .torrent files sometimes end in a stray newline; the info hash is taken over
   * the info dictionary's own span, so trailing bytes cannot change it.
   */
  readonly allowTrailing?: boolean
}

const DEFAULT_LIMITS: DecodeLimits = { maxDepth: MAX_BENCODE_DEPTH, maxValues: MAX_BENCODE_VALUES, allowTrailing: false }

/** The decoded value and the byte span of each value of a top-level dictionary, or a reason. */
export type DecodeOutcome =
  | {
      readonly ok: true
      readonly value: BValue
      readonly rootSpans: ReadonlyMap<string, readonly [number, number]>
      /** Offset just past the first complete value (trailing bytes start here). */
      readonly end: number
    }
  | { readonly ok: false; readonly reason: string }

const I = 0x69
const L = 0x6c
const D = 0x64
const E = 0x65
const COLON = 0x3a
const MINUS = 0x2d
const ZERO = 0x30
const NINE = 0x39
const INT64_MAX = 2n ** 63n - 1n
const INT64_MIN = -(2n ** 63n)

interface ListFrame { readonly kind: 'list'; readonly start: number; readonly items: BList }
interface DictFrame { readonly kind: 'dict'; readonly start: number; readonly map: BDict; key: string | null }
type Frame = ListFrame | DictFrame

class BencodeError extends Error {}

/**
 * Read bytes [start, end) as a latin1 string: exact, one char per byte.
 *
 * @example
 * latin1(new Uint8Array([0x69, 0x6e, 0x66, 0x6f])) // 'info'
 */
export function latin1 (data: Uint8Array, start = 0, end = data.length): string {
  return Buffer.from(data.buffer, data.byteOffset + start, end - start).toString('latin1')
}

/**
 * Bytes of a dictionary key as stored by {@link bdecode} (the inverse of {@link latin1}).
 *
 * @example
 * new TextDecoder().decode(keyBytes('piece length')) // 'piece length'
 */
export function keyBytes (key: string): Uint8Array {
  return new Uint8Array(Buffer.from(key, 'latin1'))
}

/**
 * Decode one bencoded value that must span all of `data`.
 * Never throws; never recurses.
 *
 * @example
 * const r = bdecode(new TextEncoder().encode('d4:infod4:name1:aee'))
 * if (r.ok) console.log(r.rootSpans.get('info')) // [7, 18]
 */
export function bdecode (data: Uint8Array, limits: Partial<DecodeLimits> = {}): DecodeOutcome {
  try {
    return decodeOrThrow(data, { ...DEFAULT_LIMITS, ...limits })
  } catch (err) {
    if (err instanceof BencodeError) return { ok: false, reason: err.message }
    // Anything else is a bug in this file; still never let it escape.
    return { ok: false, reason: `invalid bencoding (${err instanceof Error ? err.message : String(err)})` }
  }
}

function fail (pos: number, what: string): never {
  throw new BencodeError(`invalid bencoding at byte ${pos}: ${what}`)
}

function decodeOrThrow (data: Uint8Array, limits: DecodeLimits): DecodeOutcome {
  const n = data.length
  if (n === 0) fail(0, 'empty input')
  const stack: Frame[] = []
  const rootSpans = new Map<string, readonly [number, number]>()
  let values = 0
  let pos = 0
  let root: BValue | undefined

  const emit = (value: BValue, start: number): void => {
    if (++values > limits.maxValues) throw new BencodeError(`too many bencoded values (limit ${limits.maxValues})`)
    const top = stack[stack.length - 1]
    if (top === undefined) { root = value; return }
    if (top.kind === 'list') { top.items.push(value); return }
    const key = top.key as string
    top.map.set(key, value)
    top.key = null
    if (stack.length === 1) rootSpans.set(key, [start, pos])
  }

  while (root === undefined) {
    if (pos >= n) fail(pos, 'unexpected end of data (truncated?)')
    const top = stack[stack.length - 1]
    const c = data[pos] as number
    if (top !== undefined && c === E && (top.kind === 'list' || top.key === null)) {
      pos++
      stack.pop()
      emit(top.kind === 'list' ? top.items : top.map, top.start)
      continue
    }
    if (top !== undefined && top.kind === 'dict' && top.key === null) {
      if (c < ZERO || c > NINE) fail(pos, 'dictionary key is not a string')
      const [s, e] = readStringSpan(data, pos)
      const key = latin1(data, s, e)
      if (top.map.has(key)) fail(pos, `duplicate dictionary key "${printable(key)}"`)
      pos = e
      top.key = key
      continue
    }
    const start = pos
    if (c === I) {
      const [value, end] = readInteger(data, pos)
      pos = end
      emit(value, start)
    } else if (c === L || c === D) {
      if (stack.length >= limits.maxDepth) throw new BencodeError(`bencoded nesting deeper than ${limits.maxDepth} levels`)
      pos++
      stack.push(c === L ? { kind: 'list', start, items: [] } : { kind: 'dict', start, map: new Map(), key: null })
    } else if (c >= ZERO && c <= NINE) {
      const [s, e] = readStringSpan(data, pos)
      pos = e
      emit(data.subarray(s, e), start)
    } else {
      fail(pos, `unexpected byte 0x${c.toString(16).padStart(2, '0')}`)
    }
  }
  if (pos !== n && limits.allowTrailing !== true) fail(pos, `${n - pos} unexpected bytes after the end`)
  return { ok: true, value: root, rootSpans, end: pos }
}

/** `<len>:<bytes>` starting at pos; returns the span of the bytes. */
function readStringSpan (data: Uint8Array, pos: number): [number, number] {
  let len = 0
  let i = pos
  while (i < data.length && data[i] !== COLON) {
    const c = data[i] as number
    if (c < ZERO || c > NINE) fail(i, 'bad string length')
    len = len * 10 + (c - ZERO)
    // Anything over the remaining bytes is truncated anyway; stop before it loses precision.
    if (len > data.length) fail(pos, 'string runs past the end of data')
    i++
  }
  if (i >= data.length) fail(pos, 'unexpected end of data in string length')
  if (i === pos) fail(pos, 'empty string length')
  const start = i + 1
  const end = start + len
  if (end > data.length) fail(pos, 'string runs past the end of data')
  return [start, end]
}

function readInteger (data: Uint8Array, pos: number): [number | bigint, number] {
  let i = pos + 1
  const negative = data[i] === MINUS
  if (negative) i++
  const digitsStart = i
  while (i < data.length && data[i] !== E) {
    const c = data[i] as number
    if (c < ZERO || c > NINE) fail(i, 'bad integer digit')
    if (i - digitsStart >= MAX_INTEGER_DIGITS) fail(pos, 'integer too long (overlong integer)')
    i++
  }
  if (i >= data.length) fail(pos, 'unexpected end of data in integer')
  const digits = i - digitsStart
  if (digits === 0) fail(pos, 'empty integer')
  if (data[digitsStart] === ZERO && (digits > 1 || negative)) fail(pos, 'integer with leading zero or negative zero')
  const text = latin1(data, pos + 1, i)
  let value: number | bigint
  if (digits <= 15) {
    value = Number(text)
  } else {
    const big = BigInt(text)
    if (big > INT64_MAX || big < INT64_MIN) fail(pos, 'integer out of 64-bit range')
    value = Number.isSafeInteger(Number(big)) && BigInt(Number(big)) === big ? Number(big) : big
  }
  return [value, i + 1]
}

function printable (s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?')
  return clean.length > 40 ? `${clean.slice(0, 40)}...` : clean
}

/** Type guards for decoded values. */
export const isDict = (v: BValue | undefined): v is BDict => v instanceof Map
export const isList = (v: BValue | undefined): v is BList => Array.isArray(v)
export const isBytes = (v: BValue | undefined): v is Uint8Array => v instanceof Uint8Array
export const isInt = (v: BValue | undefined): v is number | bigint => typeof v === 'number' || typeof v === 'bigint'
