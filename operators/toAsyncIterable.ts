import { newDefaultScheduler } from '@most/scheduler'
import type { Disposable, Scheduler, Sink, Stream, Time } from '@most/types'

/**
 * Buffers a stream's events until the iterator's consumer asks for them.
 * @most/core has no back pressure, so the buffer grows if the consumer is
 * slower than the stream: fine for status messages, wrong for bulk data.
 */
class IteratorSink<A> implements Sink<A>, AsyncIterator<A> {
  private readonly buffer: A[] = []
  private waiting: { resolve: (r: IteratorResult<A>) => void; reject: (e: Error) => void } | undefined
  private ended = false
  private failure: Error | undefined
  private subscription: Disposable | undefined

  start(stream: Stream<A>, scheduler: Scheduler): void {
    this.subscription = stream.run(this, scheduler)
    // The stream may have ended during run(): let go of it at once.
    if (this.ended) this.stop()
  }

  event(_t: Time, value: A): void {
    if (this.ended) return
    const waiting = this.waiting
    if (waiting) {
      this.waiting = undefined
      waiting.resolve({ value, done: false })
    } else this.buffer.push(value)
  }

  end(): void {
    this.finish(undefined)
  }

  error(_t: Time, e: Error): void {
    this.finish(e)
  }

  next(): Promise<IteratorResult<A>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift() as A, done: false })
    if (this.failure) {
      const e = this.failure
      this.failure = undefined
      return Promise.reject(e)
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject }
    })
  }

  return(): Promise<IteratorResult<A>> {
    this.buffer.length = 0
    this.failure = undefined
    this.finish(undefined)
    return Promise.resolve({ value: undefined, done: true })
  }

  private finish(e: Error | undefined): void {
    if (this.ended) return
    this.ended = true
    const waiting = this.waiting
    this.waiting = undefined
    if (waiting) {
      if (e) waiting.reject(e)
      else waiting.resolve({ value: undefined, done: true })
    } else this.failure = e
    this.stop()
  }

  private stop(): void {
    const subscription = this.subscription
    this.subscription = undefined
    subscription?.dispose()
  }
}

/**
 * Consume a stream with `for await`. Each iteration runs the stream afresh;
 * leaving the loop early (break, return, throw) disposes the stream. Events
 * are buffered while the loop body is busy.
 *
 * @param scheduler the scheduler to run the stream on; a new default one when absent
 *
 * @example
 * ```ts
 * for await (const f of toAsyncIterable(progress(forTorrent(id, feedback)))) {
 *   console.log(`${Math.round(f * 100)}%`)
 * }
 * ```
 */
export const toAsyncIterable = <A>(stream: Stream<A>, scheduler: Scheduler = newDefaultScheduler()): AsyncIterable<A> => ({
  [Symbol.asyncIterator](): AsyncIterator<A> {
    const sink = new IteratorSink<A>()
    sink.start(stream, scheduler)
    return sink
  }
})
