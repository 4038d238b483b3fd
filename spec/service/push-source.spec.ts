/** PushSource: the hand-pushed stream the service feeds its engine with. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PushSource } from '../../lib/service/index.ts'
import { collect } from '../support/most.ts'
import type { Disposable } from '@most/types'
import { newDefaultScheduler } from '@most/scheduler'

test('a subscriber disposed in the middle of a broadcast does not make the next one miss the event', () => {
  const src = new PushSource<number>()
  const seen: string[] = []
  let second: Disposable | undefined
  const sched = newDefaultScheduler()
  const sink = (name: string, onEvent: () => void = () => {}) => ({
    event: (_t: number, n: number) => {
      seen.push(`${name}:${n}`)
      onEvent()
    },
    end: () => {},
    error: () => {}
  })
  const first = src.run(sink('a', () => first.dispose()), sched)
  second = src.run(sink('b'), sched)
  const third = src.run(sink('c'), sched)
  src.event(1)
  src.event(2)
  assert.deepEqual(seen, ['a:1', 'b:1', 'c:1', 'b:2', 'c:2'])
  second.dispose()
  third.dispose()
  assert.equal(src.subscribers, 0)
})

test('a subscriber disposed by an earlier one during a broadcast gets nothing more', () => {
  const src = new PushSource<number>()
  const sched = newDefaultScheduler()
  let later: Disposable | undefined
  const got: number[] = []
  src.run({ event: () => later?.dispose(), end: () => {}, error: () => {} }, sched)
  later = src.run({ event: (_t, n) => got.push(n), end: () => {}, error: () => {} }, sched)
  src.event(1)
  assert.deepEqual(got, [])
})

test('end and error reach live subscribers once, and latecomers at once', () => {
  const src = new PushSource<number>()
  const a = collect(src)
  src.event(1)
  src.end()
  src.event(2)
  src.error(new Error('ignored after end'))
  assert.deepEqual(a.events, [1])
  assert.equal(a.ended, true)
  assert.equal(a.error, undefined)
  const b = collect(src)
  assert.equal(b.ended, true)
  const failing = new PushSource<number>()
  failing.error(new Error('x'))
  assert.equal(collect(failing).error?.message, 'x')
})

test('a subscriber whose sink throws gets the error on its own stream; the others still get the value', () => {
  const src = new PushSource<number>()
  const sched = newDefaultScheduler()
  const seen: string[] = []
  const errors: string[] = []
  src.run(
    {
      event: () => {
        throw new Error('user code broke')
      },
      end: () => {},
      error: (_t, e) => errors.push(e.message)
    },
    sched
  )
  const other = src.run({ event: (_t, n) => seen.push(`b:${n}`), end: () => {}, error: () => {} }, sched)
  assert.doesNotThrow(() => src.event(1))
  assert.deepEqual(errors, ['user code broke'])
  assert.deepEqual(seen, ['b:1'])
  // A failed stream gets nothing more.
  src.event(2)
  assert.deepEqual(errors, ['user code broke'])
  assert.deepEqual(seen, ['b:1', 'b:2'])
  other.dispose()
})
