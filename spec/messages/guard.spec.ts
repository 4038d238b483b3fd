/** The type-guard shape shared by every TIPC message: a plain object whose `type` is the message's name. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { is } from '../../lib/messages/guard.ts'

const isPing = is<{ type: 'Ping' }>('Ping')

test('accepts an object of its type, whatever else it carries', () => {
  assert.equal(isPing({ type: 'Ping' }), true)
  assert.equal(isPing({ type: 'Ping', extra: 1 }), true)
  assert.equal(isPing(Object.assign(Object.create(null), { type: 'Ping' })), true)
})

test('refuses anything else, without throwing', () => {
  for (const m of [undefined, null, 'Ping', 1, true, [], ['Ping'], {}, { type: 'ping' }, { type: 'Pong' }, { kind: 'Ping' }, () => 'Ping']) {
    assert.equal(isPing(m), false, String(m))
  }
  fc.assert(
    fc.property(fc.anything(), (m) => {
      fc.pre(!(typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'Ping'))
      assert.equal(isPing(m), false)
    })
  )
})
