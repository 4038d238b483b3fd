/**
 * Hand an engine's feedback to fast-check's scheduler. The real engine still
 * does real I/O, but what it says reaches the service only when the scheduler
 * releases it, so a property decides how replies and status updates interleave
 * with patrons' steps, and a failure shrinks to (and prints) that ordering.
 *
 * Feedback is released strictly in the order the engine emitted it: the
 * engine contract promises ordered replies (the service matches creations
 * FIFO), so reordering them would test a broken engine, not the service. Only
 * the head of the queue is ever scheduled; what varies is *when* it goes.
 */
import type fc from 'fast-check'
import type { Sink } from '@most/types'
import type { Engine } from '../../lib/engine-contract.ts'
import { isTorrentStatusUpdate, type EngineFeedback } from '../../lib/messages.ts'

/** A printable name for one feedback, used as the scheduler's task label. */
export function feedbackLabel (fb: EngineFeedback): string {
  const id = 'torrentid' in fb ? `(${String(fb.torrentid)})` : ''
  const activity = isTorrentStatusUpdate(fb) ? ` ${String(fb.statsdictionary.activity)}` : ''
  return `engine: ${fb.type}${id}${activity}`
}

class HeldSink implements Sink<EngineFeedback> {
  private readonly held: Array<{ label: string; deliver: () => void }> = []
  private scheduled = false
  private closed = false

  constructor (
    private readonly sink: Sink<EngineFeedback>,
    private readonly s: fc.Scheduler,
    private readonly onThrow: (e: unknown) => void
  ) {}

  event (t: number, fb: EngineFeedback): void { this.hold(feedbackLabel(fb), () => this.sink.event(t, fb)) }
  end (t: number): void { this.hold('engine: end', () => this.sink.end(t)) }
  error (t: number, e: Error): void { this.hold(`engine: error ${e.message}`, () => this.sink.error(t, e)) }

  /** The run was disposed: what is still held is dropped (a disposed sink must hear nothing). */
  close (): void {
    this.closed = true
    this.held.length = 0
  }

  private hold (label: string, deliver: () => void): void {
    if (this.closed) return
    this.held.push({ label, deliver })
    this.next()
  }

  private next (): void {
    const head = this.held[0]
    if (this.scheduled || this.closed || head === undefined) return
    this.scheduled = true
    // A sequence item runs its builder inside the scheduled task, so the delivery
    // (and everything the service does synchronously with it) is that task.
    this.s.scheduleSequence([{
      label: head.label,
      builder: async () => {
        this.scheduled = false
        if (this.closed) return
        this.held.shift()
        try {
          head.deliver()
        } catch (e) {
          this.onThrow(e)
        }
        this.next()
      }
    }])
  }
}

/**
 * Wrap `engine` so that each feedback it emits waits for `s` to release it.
 * `onThrow` hears of anything the receiving side throws during a delivery.
 *
 * @example
 * fc.asyncProperty(fc.scheduler(), async (s) => {
 *   const service = torrentService(scheduleFeedback(torrentClient(), s))
 *   ...
 *   await s.waitFor(done)
 * })
 */
export const scheduleFeedback = (engine: Engine, s: fc.Scheduler, onThrow: (e: unknown) => void = () => {}): Engine => (commands) => ({
  run (sink, scheduler) {
    const held = new HeldSink(sink, s, onThrow)
    const d = engine(commands).run(held, scheduler)
    return { dispose () { held.close(); d.dispose() } }
  }
})
