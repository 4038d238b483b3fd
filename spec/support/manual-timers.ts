/**
 * A manual clock with one-shot timers (the `Timers` of lib/engine/swarm/timers.ts):
 * time moves only when a test calls advance(), which runs the timers that fall due, in order.
 */
import type { Timers } from '../../lib/engine/swarm/timers.ts'

interface Pending { readonly at: number; readonly fn: () => void; readonly ms: number; readonly id: number }

/**
 * @example
 * const clock = new ManualTimers()
 * startTracker({ ..., timers: clock })
 * clock.advance(15_000) // the first retransmission goes out
 */
export class ManualTimers implements Timers {
  private pending: Pending[] = []
  private next = 1
  constructor (public t = 1_000_000) {}
  readonly now = (): number => this.t
  readonly setTimeout = (fn: () => void, ms: number): number => {
    const id = this.next++
    this.pending.push({ at: this.t + Math.max(0, ms), fn, ms, id })
    return id
  }

  readonly clearTimeout = (handle: unknown): void => {
    this.pending = this.pending.filter((p) => p.id !== handle)
  }

  /** Delays (ms) of the timers not yet run, in the order they were set. */
  delays (): number[] {
    return this.pending.map((p) => p.ms)
  }

  /** Move time on by `ms`, running every timer that falls due (timers they set included). */
  advance (ms: number): void {
    const end = this.t + ms
    for (;;) {
      const due = this.pending.filter((p) => p.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (due === undefined) break
      this.pending = this.pending.filter((p) => p !== due)
      this.t = Math.max(this.t, due.at)
      due.fn()
    }
    this.t = end
  }
}
