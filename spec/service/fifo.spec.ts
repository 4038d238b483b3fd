/** Fifo: the head-indexed queue behind the router's creation and close queues. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import v8 from 'node:v8'
import vm from 'node:vm'
import { Fifo } from '../../lib/service/fifo.ts'

test('entries come out in the order they went in; an empty queue gives undefined', () => {
  const q = new Fifo<string>()
  assert.equal(q.shift(), undefined)
  assert.equal(q.peek(), undefined)
  q.push('a')
  q.push('b')
  assert.equal(q.peek(), 'a')
  assert.equal(q.length, 2)
  assert.equal(q.shift(), 'a')
  assert.deepEqual([...q], ['b'])
  assert.equal(q.shift(), 'b')
  assert.equal(q.length, 0)
  assert.equal(q.shift(), undefined)
  q.push('c')
  q.clear()
  assert.equal(q.length, 0)
  assert.deepEqual([...q], [])
})

test('any interleaving of pushes and shifts matches an array model, across compactions', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 3000 })), { maxLength: 300 }), (ops) => {
      const q = new Fifo<number>()
      const model: number[] = []
      let next = 0
      for (const op of ops) {
        if (op < 0) assert.equal(q.shift(), model.shift())
        // A burst of pushes then as many shifts minus one: the front passes the compaction threshold.
        else {
          for (let i = 0; i < op; i++) {
            q.push(next)
            model.push(next++)
          }
          for (let i = 1; i < op; i++) assert.equal(q.shift(), model.shift())
        }
        assert.equal(q.length, model.length)
        assert.equal(q.peek(), model[0])
      }
      assert.deepEqual([...q], model)
    }),
    { numRuns: 200 }
  )
})

test('a shifted entry is not kept alive by the queue', async () => {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  const q = new Fifo<object>()
  const refs: WeakRef<object>[] = []
  for (let i = 0; i < 3; i++) {
    const o = { i }
    refs.push(new WeakRef(o))
    q.push(o)
  }
  q.shift()
  q.shift()
  await new Promise((r) => setImmediate(r))
  gc()
  assert.equal(refs[0]!.deref(), undefined)
  assert.equal(refs[1]!.deref(), undefined)
  assert.deepEqual(q.peek(), { i: 2 })
  assert.equal(refs[2]!.deref(), q.peek())
})
