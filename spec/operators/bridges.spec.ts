import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import fc from 'fast-check'
import { map, periodic, runEffects, scan, take, tap, throwError } from '@most/core'
import { newDefaultScheduler } from '@most/scheduler'
import { fromAsyncIterable } from '../../operators/fromAsyncIterable.ts'
import { fromEvent } from '../../operators/fromEvent.ts'
import { fromReadable } from '../../operators/fromReadable.ts'
import { toAsyncIterable } from '../../operators/toAsyncIterable.ts'
import { toMostLegacy } from '../../operators/toMostLegacy.ts'

async function* generate<A>(items: readonly A[]): AsyncGenerator<A> {
  for (const x of items) {
    await Promise.resolve()
    yield x
  }
}

const drain = async <A>(it: AsyncIterable<A>): Promise<A[]> => {
  const out: A[] = []
  for await (const x of it) out.push(x)
  return out
}

test('property: toAsyncIterable ∘ fromAsyncIterable is the identity', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.anything(), { maxLength: 30 }), async (items) => {
      assert.deepEqual(await drain(toAsyncIterable(fromAsyncIterable(generate(items)))), items)
    }),
    { numRuns: 200 }
  )
})

test('toAsyncIterable rejects with the stream\'s error after its events', async () => {
  const it = toAsyncIterable(throwError(new Error('boom')))
  await assert.rejects(drain(it), /boom/)
})

test('leaving a for-await loop early disposes the stream', async () => {
  let ticks = 0
  const counting = tap(() => ticks++, periodic(1))
  for await (const _ of toAsyncIterable(counting)) if (ticks >= 3) break
  const seen = ticks
  await new Promise((r) => setTimeout(r, 30))
  assert.equal(ticks, seen, 'no events after break')
})

test('disposing fromAsyncIterable calls the iterator\'s return()', async () => {
  let returned = false
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => ({ value: 1, done: false }),
      return: async () => {
        returned = true
        return { value: undefined, done: true }
      }
    })
  }
  const firstThree = await drain(toAsyncIterable(take(3, fromAsyncIterable(iterable))))
  assert.deepEqual(firstThree, [1, 1, 1])
  await new Promise((r) => setTimeout(r, 5))
  assert.ok(returned)
})

test('fromAsyncIterable carries a throwing iterator\'s error', async () => {
  async function* bad(): AsyncGenerator<number> {
    yield 1
    throw new Error('broken source')
  }
  const seen: number[] = []
  await assert.rejects(runEffects(tap((x: number) => seen.push(x), fromAsyncIterable(bad())), newDefaultScheduler()), /broken source/)
  assert.deepEqual(seen, [1])
})

test('fromReadable reads an object-mode Readable to its end', async () => {
  const out = await drain(toAsyncIterable(fromReadable<string>(Readable.from(['a', 'b', 'c']))))
  assert.deepEqual(out, ['a', 'b', 'c'])
})

test('fromReadable fails with the Readable\'s error', async () => {
  const r = new Readable({ objectMode: true, read() {} })
  const p = drain(toAsyncIterable(fromReadable(r)))
  r.push('x')
  r.destroy(new Error('disk'))
  await assert.rejects(p, /disk/)
})

test('fromEvent emits each event\'s first argument and removes its listener on dispose', async () => {
  const e = new EventEmitter()
  const seen: string[] = []
  const it = toAsyncIterable(fromEvent<string>('line', e))[Symbol.asyncIterator]()
  assert.equal(e.listenerCount('line'), 1)
  e.emit('line', 'one', 'ignored')
  e.emit('other', 'nope')
  e.emit('line', 'two')
  seen.push((await it.next()).value, (await it.next()).value)
  assert.deepEqual(seen, ['one', 'two'])
  await it.return!()
  assert.equal(e.listenerCount('line'), 0)
  // curried form
  const d = fromEvent('line')(e).run({ event() {}, end() {}, error() {} }, newDefaultScheduler())
  assert.equal(e.listenerCount('line'), 1)
  d.dispose()
  assert.equal(e.listenerCount('line'), 0)
})

test('a throw in what consumes an event becomes an error of the source stream (fromEvent, fromAsyncIterable)', async () => {
  const e = new EventEmitter()
  const failing = tap((x: string) => {
    if (x === 'bad') throw new Error('consumer broke')
  }, fromEvent<string>('line', e))
  const done = runEffects(failing, newDefaultScheduler())
  e.emit('line', 'good')
  // Without the guard this throw escapes from emit() into the emitter's caller.
  assert.doesNotThrow(() => e.emit('line', 'bad'))
  await assert.rejects(done, /consumer broke/)
  assert.equal(e.listenerCount('line'), 0, 'the failed stream removed its listener')

  let returned = false
  async function* items() {
    try {
      yield 1
      yield 2
      yield 3
    } finally {
      returned = true
    }
  }
  const seen: number[] = []
  const pulled = tap((n: number) => {
    seen.push(n)
    if (n === 2) throw new Error('item 2 refused')
  }, fromAsyncIterable(items()))
  await assert.rejects(runEffects(pulled, newDefaultScheduler()), /item 2 refused/)
  assert.deepEqual(seen, [1, 2], 'no item after the throw')
  await new Promise((r) => setImmediate(r))
  assert.ok(returned, 'the generator was told to return')
})

test('toMostLegacy gives a most 1.x stream with the fluent API', async () => {
  const counter = take(4, scan((n: number) => n + 1, 0, periodic(1)))
  const seen: string[] = []
  await toMostLegacy(counter)
    .map((n) => `#${n}`)
    .filter((s) => s !== '#0')
    .observe((s) => seen.push(s))
  assert.deepEqual(seen, ['#1', '#2', '#3'])
  // errors reach the legacy promise
  await assert.rejects(toMostLegacy(throwError(new Error('legacy boom'))).drain(), /legacy boom/)
  // taking from the legacy side disposes the @most/core side
  let ticks = 0
  await toMostLegacy(map(() => ticks++, periodic(1))).take(2).drain()
  const seen2 = ticks
  await new Promise((r) => setTimeout(r, 20))
  assert.equal(ticks, seen2)
})
