/**
 * Counts a torrent's writes, reads and hashes in flight, so closing can wait
 * until none is left before the files close.
 *
 * @internal
 * @module
 */

/**
 * In-flight IO of one torrent.
 *
 * @example
 * ```ts
 * const io = new PendingIo()
 * const data = await io.track(storage.read(0, 16384))
 * await io.idle()
 * ```
 */
export class PendingIo {
  private pending = 0
  private readonly waiters: (() => void)[] = []

  /**
   * Count `work` until it settles; returns it unchanged. The count drops a
   * microtask after it settles, so IO the caller's own handlers start (a
   * hash after the last write) is counted before the count can reach zero.
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.pending++
    const done = (): void => queueMicrotask(() => {
      this.pending--
      if (this.pending === 0) for (const r of this.waiters.splice(0)) r()
    })
    work.then(done, done)
    return work
  }

  /** IO operations in flight. */
  get count(): number {
    return this.pending
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise<void>((r) => this.waiters.push(r))
  }
}
