/**
 * When the storage may write on the main thread. A positional write through
 * the thread pool costs a wake-up of a pool thread and another of the event
 * loop per call: on a virtual machine each is an inter-processor interrupt,
 * and in a 1 GiB download those round trips cost more main-thread time than
 * the copies themselves (a quarter of the process's CPU in the download
 * benchmark). A write the kernel takes into its page cache returns in tens
 * of microseconds, so the storage writes synchronously while writes stay
 * that quick, and goes back to the thread pool for a while after one took
 * longer than {@link SLOW_SYNC_MS}: the kernel is then throttling dirty pages
 * (a slow disk, a full cache), and a synchronous write would stall every
 * connection. Reads are gated alike (a read that misses the page cache
 * waits for the disk), with a gate of their own. aria2c writes and reads
 * synchronously on its one thread; libtorrent hands both to disk threads.
 *
 * Pure: the clock is injected.
 *
 * @internal
 * @module
 */

/**
 * A synchronous write slower than this (ms) sends writes back to the thread
 * pool. The kernel's dirty-page throttling pauses a writer for tens to
 * hundreds of milliseconds; a write merely descheduled on a busy machine
 * takes up to a few tens (at 10 ms the gate closed on every run of the
 * download benchmark at a load average of 9-12, and the gain was gone).
 */
export const SLOW_SYNC_MS = 50

/** How long (ms) writes stay on the thread pool after a slow synchronous one. */
export const SYNC_BACKOFF_MS = 5000

/**
 * The gate of one storage's synchronous writes.
 *
 * @example
 * ```ts
 * const gate = new SyncIoGate(() => performance.now())
 * if (gate.allowed()) {
 *   const t = performance.now()
 *   writeSync(fd, data, 0, data.length, position)
 *   gate.took(performance.now() - t)
 * }
 * ```
 */
export class SyncIoGate {
  private asyncUntil = Number.NEGATIVE_INFINITY

  constructor(
    private readonly now: () => number,
    private readonly slowMs = SLOW_SYNC_MS,
    private readonly backoffMs = SYNC_BACKOFF_MS
  ) {}

  /** True when the next write may run synchronously. */
  allowed(): boolean {
    return this.now() >= this.asyncUntil
  }

  /** A synchronous write took `ms`: a slow one closes the gate for the back-off. */
  took(ms: number): void {
    if (ms > this.slowMs) this.asyncUntil = this.now() + this.backoffMs
  }
}
