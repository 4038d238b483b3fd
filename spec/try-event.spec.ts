/** tryEvent and tryEnd: a throw in a sink becomes that sink's error, never the caller's exception. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Sink } from '@most/types'
import { tryEnd, tryEvent } from '../lib/try-event.ts'

const recording = (throwOn: 'event' | 'end' | 'none', thrown: unknown = new Error('boom')) => {
  const log: string[] = []
  const sink: Sink<number> = {
    event: (t, x) => {
      log.push(`event ${t} ${x}`)
      if (throwOn === 'event') throw thrown
    },
    end: (t) => {
      log.push(`end ${t}`)
      if (throwOn === 'end') throw thrown
    },
    error: (t, e) => log.push(`error ${t} ${e.message}`)
  }
  return { sink, log }
}

test('tryEvent delivers and says true; a throw becomes sink.error at the same time and says false', () => {
  const ok = recording('none')
  assert.equal(tryEvent(5, 1, ok.sink), true)
  assert.deepEqual(ok.log, ['event 5 1'])
  const bad = recording('event')
  assert.equal(tryEvent(7, 2, bad.sink), false)
  assert.deepEqual(bad.log, ['event 7 2', 'error 7 boom'])
})

test('a thrown non-Error becomes an Error with its text', () => {
  const bad = recording('event', 'plain string')
  assert.equal(tryEvent(1, 3, bad.sink), false)
  assert.deepEqual(bad.log, ['event 1 3', 'error 1 plain string'])
})

test('tryEnd ends; a throw in end becomes sink.error', () => {
  const ok = recording('none')
  tryEnd(2, ok.sink)
  assert.deepEqual(ok.log, ['end 2'])
  const bad = recording('end')
  assert.doesNotThrow(() => tryEnd(3, bad.sink))
  assert.deepEqual(bad.log, ['end 3', 'error 3 boom'])
})
