/**
 * A fixed-length set of piece flags, stored as BEP 3 wire bytes (piece 0 is
 * the most significant bit of byte 0; spare bits at the end stay zero), so
 * sending or saving it never needs a conversion.
 *
 * @module
 */

/**
 * Piece flags in BEP 3 wire order.
 *
 * @example
 * ```ts
 * const b = new Bitfield(10)
 * b.set(0); b.set(9)
 * b.toBytes() // Uint8Array [0x80, 0x40]
 * Bitfield.fromBytes(new Uint8Array([0x80, 0x40]), 10)?.count() // 2
 * ```
 */
export class Bitfield {
  /** Number of pieces (bits). */
  readonly length: number
  private readonly bytes: Uint8Array
  private ones = 0

  /**
   * @param length number of pieces
   * @param bytes initial wire bytes (copied); must be exactly ceil(length / 8) long. Spare bits are cleared.
   */
  constructor(length: number, bytes?: Uint8Array) {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad bitfield length ${length}`)
    this.length = length
    const size = Bitfield.byteLength(length)
    this.bytes = new Uint8Array(size)
    if (bytes !== undefined) {
      if (bytes.length !== size) throw new RangeError(`bitfield needs ${size} bytes for ${length} pieces, got ${bytes.length}`)
      this.bytes.set(bytes)
      if (size > 0) this.bytes[size - 1]! &= Bitfield.lastByteMask(length)
      for (const byte of this.bytes) this.ones += popcount(byte)
    }
  }

  /** Bytes needed on the wire for `length` pieces. */
  static byteLength(length: number): number {
    return Math.ceil(length / 8)
  }

  /** Mask of the valid bits in the last byte (all ones when length is a multiple of 8). */
  private static lastByteMask(length: number): number {
    const rem = length % 8
    return rem === 0 ? 0xff : (0xff << (8 - rem)) & 0xff
  }

  /**
   * Parses an untrusted wire bitfield: null when its size is wrong or a spare bit is set
   * (BEP 3 says a peer sending that should be dropped).
   */
  static fromBytes(bytes: Uint8Array, length: number): Bitfield | null {
    if (!Number.isSafeInteger(length) || length < 0) return null
    const size = Bitfield.byteLength(length)
    if (bytes.length !== size) return null
    if (size > 0 && (bytes[size - 1]! & ~Bitfield.lastByteMask(length) & 0xff) !== 0) return null
    return new Bitfield(length, bytes)
  }

  /** Whether piece `i` is set (false when out of range). */
  get(i: number): boolean {
    if (!(i >= 0 && i < this.length)) return false
    return (this.bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0
  }

  /** Sets (or clears, with `v=false`) piece `i`. Throws RangeError when out of range. */
  set(i: number, v = true): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new RangeError(`piece ${i} out of range 0..${this.length - 1}`)
    const mask = 0x80 >> (i & 7)
    const idx = i >> 3
    const was = (this.bytes[idx]! & mask) !== 0
    if (was === v) return
    if (v) {
      this.bytes[idx]! |= mask
      this.ones++
    } else {
      this.bytes[idx]! &= ~mask
      this.ones--
    }
  }

  /** Number of set pieces (O(1)). */
  count(): number {
    return this.ones
  }

  /** True when every piece is set (true for a zero-length bitfield). */
  all(): boolean {
    return this.ones === this.length
  }

  /** True when no piece is set. */
  none(): boolean {
    return this.ones === 0
  }

  /** A copy of the wire bytes. */
  toBytes(): Uint8Array {
    return this.bytes.slice()
  }

  /** An independent copy. */
  clone(): Bitfield {
    return new Bitfield(this.length, this.bytes)
  }

  /** Indices of set pieces, ascending. */
  *setIndices(): IterableIterator<number> {
    for (let idx = 0; idx < this.bytes.length; idx++) {
      const byte = this.bytes[idx]!
      if (byte === 0) continue
      for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) yield idx * 8 + bit
    }
  }
}

function popcount(b: number): number {
  b = b - ((b >> 1) & 0x55)
  b = (b & 0x33) + ((b >> 2) & 0x33)
  return (b + (b >> 4)) & 0x0f
}
