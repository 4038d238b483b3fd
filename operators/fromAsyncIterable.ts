import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import { tryEnd, tryEvent } from '../lib/try-event.ts'

class FromAsyncIterable<A> implements Stream<A> {
  constructor(private readonly iterable: AsyncIterable<A>) {}

  run(sink: Sink<A>, scheduler: Scheduler): Disposable {
    const pull = new Pull(this.iterable[Symbol.asyncIterator](), sink, scheduler)
    void pull.loop()
    return pull
  }
}

/** Pulls one item at a time: the next is asked for only after the last was delivered. */
class Pull<A> implements Disposable {
  private disposed = false

  constructor(
    private readonly iterator: AsyncIterator<A>,
    private readonly sink: Sink<A>,
    private readonly scheduler: Scheduler
  ) {}

  async loop(): Promise<void> {
    try {
      for (;;) {
        const r = await this.iterator.next()
        if (this.disposed) return
        if (r.done) return tryEnd(this.scheduler.currentTime(), this.sink)
        // A throw downstream fails the stream and stops the pulling (the producer is told to return).
        if (!tryEvent(this.scheduler.currentTime(), r.value, this.sink)) return this.dispose()
      }
    } catch (e) {
      if (!this.disposed) this.sink.error(this.scheduler.currentTime(), e instanceof Error ? e : new Error(String(e)))
    }
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    // Let the producer release what it holds (file handles, sockets).
    void Promise.resolve(this.iterator.return?.()).catch(() => undefined)
  }
}

/**
 * A stream of the items of an async iterable (an async generator, a Node
 * Readable, an `events.on` iterator). The next item is pulled only after the
 * previous one was delivered; disposing the stream calls the iterator's
 * `return()`. An async generator waiting inside an `await` finishes that
 * wait before `return()` takes effect: give such producers an AbortSignal
 * (as `fs/promises` `watch` takes) to stop them at once. A throw in what
 * consumes an item becomes an error of this stream, and the pulling stops.
 *
 * @example
 * ```ts
 * async function* torrentsInQueue() { yield await readFile('a.torrent'); yield await readFile('b.torrent') }
 * const commands = map((bytes: Uint8Array) => createNewTorrent(bytes), fromAsyncIterable(torrentsInQueue()))
 * ```
 */
export const fromAsyncIterable = <A>(iterable: AsyncIterable<A>): Stream<A> => new FromAsyncIterable(iterable)
