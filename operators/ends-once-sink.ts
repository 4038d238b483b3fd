/**
 * The sink shape shared by operators that may finish before their source
 * does (a torrent complete, failed, every download done): once they have
 * ended or failed downstream, a later end or error from upstream is dropped,
 * so the downstream sink ends exactly once.
 *
 * @internal
 * @module
 */
import type { Disposable, Sink, Time } from '@most/types'

/** A sink that ends its downstream at most once; subclasses set `done` when they finish early. */
export abstract class EndsOnceSink<A, B> implements Sink<A> {
  protected done = false

  constructor(
    protected readonly sink: Sink<B>,
    protected readonly upstream: Disposable
  ) {}

  abstract event(t: Time, a: A): void

  end(t: Time): void {
    if (this.done) return
    this.done = true
    this.sink.end(t)
  }

  error(t: Time, e: Error): void {
    if (this.done) return
    this.done = true
    this.sink.error(t, e)
  }
}
