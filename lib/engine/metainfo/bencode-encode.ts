/**
 * A small bencode encoder for data we produce ourselves (made torrents, test
 * fixtures). Dictionary keys are sorted by their raw UTF-8 bytes, as BEP 3
 * requires, so the same dictionary always gives the same bytes (and info hash).
 *
 * @module
 */
import { Buffer } from 'node:buffer'

/**
 * What {@link bencode} accepts: strings are written as UTF-8. A Map's keys may
 * be raw bytes (for keys that are not text, such as BEP 52's `piece layers`).
 */
export type Encodable = number | bigint | string | Uint8Array | readonly Encodable[] | { readonly [key: string]: Encodable | undefined } | ReadonlyMap<string | Uint8Array, Encodable>

/**
 * Bencode a value. Integers must be whole numbers; `undefined` dictionary values are left out.
 *
 * @example
 * bencode({ b: 1, a: 'x' }) // bytes of 'd1:a1:x1:bi1ee'
 */
export function bencode (value: Encodable): Uint8Array {
  const parts: Buffer[] = []
  write(value, parts)
  return new Uint8Array(Buffer.concat(parts))
}

function write (v: Encodable, out: Buffer[]): void {
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isInteger(v)) throw new TypeError(`bencode: ${v} is not an integer`)
    out.push(Buffer.from(`i${v.toString()}e`, 'latin1'))
  } else if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8')
    out.push(Buffer.from(`${b.length}:`, 'latin1'), b)
  } else if (v instanceof Uint8Array) {
    out.push(Buffer.from(`${v.length}:`, 'latin1'), Buffer.from(v.buffer, v.byteOffset, v.length))
  } else if (Array.isArray(v)) {
    out.push(Buffer.from('l'))
    for (const item of v as readonly Encodable[]) write(item, out)
    out.push(Buffer.from('e'))
  } else {
    const entries: Array<{ b: Buffer; v: Encodable }> = v instanceof Map
      ? [...(v as ReadonlyMap<string | Uint8Array, Encodable>)].map(([k, item]) => ({ b: typeof k === 'string' ? Buffer.from(k, 'utf8') : Buffer.from(k), v: item }))
      : Object.entries(v as { readonly [key: string]: Encodable | undefined })
        .filter((e): e is [string, Encodable] => e[1] !== undefined)
        .map(([k, item]) => ({ b: Buffer.from(k, 'utf8'), v: item }))
    entries.sort((x, y) => Buffer.compare(x.b, y.b))
    out.push(Buffer.from('d'))
    for (const { b, v: item } of entries) {
      out.push(Buffer.from(`${b.length}:`, 'latin1'), b)
      write(item, out)
    }
    out.push(Buffer.from('e'))
  }
}
