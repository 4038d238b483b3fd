/**
 * A first-in first-out queue over one array and a head index: `shift` is a
 * pointer move, not a copy of what is left (Array.prototype.shift and
 * `slice` copy, which at a thousand waiting entries costs more than the
 * routing around it). The array is compacted once the dead front is at least
 * as long as the live part, so each entry is copied at most once on average.
 *
 * @module
 */

/** Front entries kept before compacting (below this, copying is not worth the call). */
const COMPACT_AT = 1024

/**
 * A FIFO queue with an O(1) `shift`.
 *
 * @example
 * ```ts
 * const q = new Fifo<number>()
 * q.push(1)
 * q.push(2)
 * q.shift() // 1
 * q.length  // 1
 * ```
 */
export class Fifo<A> {
  private items: (A | undefined)[] = []
  private head = 0

  /** Entries waiting. @example `if (q.length > 0) q.shift()` */
  get length(): number {
    return this.items.length - this.head
  }

  /** Append at the back. @example `q.push(entry)` */
  push(a: A): void {
    this.items.push(a)
  }

  /** The front entry, left in place. @example `q.peek()?.upTo` */
  peek(): A | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined
  }

  /** Remove and return the front entry. @example `const next = q.shift()` */
  shift(): A | undefined {
    if (this.head >= this.items.length) return undefined
    const a = this.items[this.head]
    this.items[this.head++] = undefined // the queue keeps nothing it gave out alive
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= COMPACT_AT && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return a
  }

  /** Every waiting entry, front first. @example `for (const e of q) console.log(e)` */
  *[Symbol.iterator](): IterableIterator<A> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i] as A
  }

  /** Drop everything. @example `q.clear()` */
  clear(): void {
    this.items = []
    this.head = 0
  }
}
