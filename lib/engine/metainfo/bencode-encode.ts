/**
 * A small bencode encoder for data we produce ourselves (made torrents, test
 * fixtures). Dictionary keys are sorted by their raw UTF-8 bytes, as BEP 3
 * requires, so the same dictionary always gives the same bytes (and info hash).
 *
 * @module
 */
import { Buffer } from 'node:buffer'

/** What {@link bencode} accepts: strings are written as UTF-8. */
export type Encodable = number | bigint | string | Uint8Array | readonly Encodable[] | { readonly [key: string]: Encodable | undefined }

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
    const dict = v as { readonly [key: string]: Encodable | undefined }
    const keys = Object.keys(dict).filter(k => dict[k] !== undefined)
      .map(k => ({ k, b: Buffer.from(k, 'utf8') }))
      .sort((x, y) => Buffer.compare(x.b, y.b))
    out.push(Buffer.from('d'))
    for (const { k, b } of keys) {
      out.push(Buffer.from(`${b.length}:`, 'latin1'), b)
      write(dict[k] as Encodable, out)
    }
    out.push(Buffer.from('e'))
  }
}
