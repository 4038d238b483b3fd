import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import type { EventEmitter } from 'node:events'
import { curry2 } from './curry.ts'

class FromEvent<A> implements Stream<A> {
  constructor(
    private readonly emitter: EventEmitter,
    private readonly name: string | symbol
  ) {}

  run(sink: Sink<A>, scheduler: Scheduler): Disposable {
    const listener = (value: A): void => sink.event(scheduler.currentTime(), value)
    this.emitter.on(this.name, listener)
    return { dispose: () => void this.emitter.off(this.name, listener) }
  }
}

/**
 * A stream of one event of a Node EventEmitter, carrying the event's first
 * argument. It never ends by itself; dispose it (e.g. with `until`) to remove
 * the listener.
 *
 * @example
 * ```ts
 * import { watch } from 'node:fs'
 * const changes = fromEvent<string>(watch('incoming'), 'change') // file names
 * ```
 */
export const fromEvent: {
  <A = unknown>(emitter: EventEmitter, name: string | symbol): Stream<A>
  <A = unknown>(emitter: EventEmitter): (name: string | symbol) => Stream<A>
} = curry2((emitter: EventEmitter, name: string | symbol): Stream<never> => new FromEvent<never>(emitter, name))
