/**
 * Test helpers for the operators: a virtual-time scheduler (so timed
 * operators are tested without waiting), a collector, and builders of
 * feedback messages.
 */
import { at, mergeArray } from '@most/core'
import { newScheduler, newTimeline } from '@most/scheduler'
import type { Scheduler, Sink, Stream, Time, Timer } from '@most/types'
import { emptyStats, torrentStatusUpdate, type TorrentStats, type TorrentStatusUpdate } from '../../lib/messages.ts'

/** A timer whose clock only moves when told to. */
export class VirtualTimer implements Timer {
  private time = 0
  private nextHandle = 1
  private readonly timers = new Map<number, { at: Time; f: () => unknown }>()

  now(): Time {
    return this.time
  }

  setTimer(f: () => unknown, dt: number): number {
    const handle = this.nextHandle++
    this.timers.set(handle, { at: this.time + Math.max(0, dt), f })
    return handle
  }

  clearTimer(handle: number): void {
    this.timers.delete(handle)
  }

  /** Fire timers in time order until none is left or `limit` is reached. */
  runAll(limit = 100_000): void {
    for (let i = 0; i < limit; i++) {
      let next: [number, { at: Time; f: () => unknown }] | undefined
      for (const entry of this.timers) if (next === undefined || entry[1].at < next[1].at) next = entry
      if (next === undefined) return
      this.timers.delete(next[0])
      this.time = Math.max(this.time, next[1].at)
      next[1].f()
    }
    throw new Error('virtual timer: too many timers (a periodic never ended?)')
  }
}

export const virtualScheduler = (): { scheduler: Scheduler; timer: VirtualTimer } => {
  const timer = new VirtualTimer()
  return { scheduler: newScheduler(timer, newTimeline()), timer }
}

export interface Collected<A> {
  readonly events: Array<{ t: Time; value: A }>
  readonly values: A[]
  ended: Time | undefined
  error: Error | undefined
}

/** Run a stream to the end in virtual time and return what it did. */
export const collect = <A>(stream: Stream<A>): Collected<A> => {
  const { scheduler, timer } = virtualScheduler()
  const out: Collected<A> = { events: [], values: [], ended: undefined, error: undefined }
  const sink: Sink<A> = {
    event: (t, value) => {
      if (out.ended !== undefined || out.error !== undefined) throw new Error('event after end')
      out.events.push({ t, value })
      out.values.push(value)
    },
    end: (t) => {
      if (out.ended !== undefined || out.error !== undefined) throw new Error('end twice')
      out.ended = t
    },
    error: (_t, e) => {
      if (out.ended !== undefined || out.error !== undefined) throw new Error('error after end')
      out.error = e
    }
  }
  const d = stream.run(sink, scheduler)
  timer.runAll()
  d.dispose()
  return out
}

/** A stream of values at given times (ms), ending after the last. */
export const timed = <A>(events: ReadonlyArray<readonly [Time, A]>): Stream<A> =>
  mergeArray(events.map(([t, a]) => at(t, a)))

/** A status update of torrent `id` with the given stats over empty ones. */
export const update = (id: string, stats: Partial<TorrentStats>): TorrentStatusUpdate =>
  torrentStatusUpdate(id, { ...emptyStats, activity: 'downloading', ...stats })
