/** Small helpers for tests of @most/core streams. */
import type { Disposable, Stream } from '@most/types'
import { newDefaultScheduler } from '@most/scheduler'
import { PushSource } from '../../lib/service/index.ts'

export { PushSource }

/** What a collected stream did so far. */
export interface Collected<A> {
  readonly events: A[]
  ended: boolean
  error: Error | undefined
  /** Events that arrived after dispose (must stay 0). */
  late: number
  disposed: boolean
  dispose(): void
}

/** Run `stream` and record everything it emits. */
export const collect = <A>(stream: Stream<A>, scheduler = newDefaultScheduler()): Collected<A> => {
  let d: Disposable | undefined
  const c: Collected<A> = {
    events: [],
    ended: false,
    error: undefined,
    late: 0,
    disposed: false,
    dispose() {
      if (c.disposed) return
      c.disposed = true
      d?.dispose()
    }
  }
  d = stream.run(
    {
      event: (_t, a) => {
        if (c.disposed || c.ended) c.late++
        else c.events.push(a)
      },
      end: () => {
        c.ended = true
      },
      error: (_t, e) => {
        c.error = e
      }
    },
    scheduler
  )
  return c
}

/** Let scheduled @most tasks (now, at 0) and promises run. */
export const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5))
