import { curry2 } from '@most/prelude'
import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import type { EventEmitter } from 'node:events'
import { tryEvent } from '../lib/try-event.ts'

class FromEvent<A> implements Stream<A> {
  constructor(
    private readonly name: string | symbol,
    private readonly emitter: EventEmitter
  ) {}

  run(sink: Sink<A>, scheduler: Scheduler): Disposable {
    // A throw downstream fails this stream (sink.error), not the emitter that called us.
    const listener = (value: A): void => void tryEvent(scheduler.currentTime(), value, sink)
    this.emitter.on(this.name, listener)
    return { dispose: () => void this.emitter.off(this.name, listener) }
  }
}

/**
 * A stream of one event of a Node EventEmitter, carrying the event's first
 * argument: `fromEvent(event, target)`, the event's name first, as in `most`
 * and `@most/dom-event`, curried (`fromEvent('change')(watcher)`). It never
 * ends by itself; dispose it (e.g. with `until`) to remove the listener. A
 * throw in what consumes an event becomes an error of this stream.
 *
 * @example
 * ```ts
 * import { watch } from 'node:fs'
 * const changes = fromEvent<string>('change', watch('incoming')) // file names
 * const stop = fromEvent('SIGINT', process)
 * ```
 */
export const fromEvent: {
  <A = unknown>(name: string | symbol, emitter: EventEmitter): Stream<A>
  <A = unknown>(name: string | symbol): (emitter: EventEmitter) => Stream<A>
} = curry2((name: string | symbol, emitter: EventEmitter): Stream<never> => new FromEvent<never>(name, emitter))
