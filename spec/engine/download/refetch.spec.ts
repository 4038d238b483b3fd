/** Who re-downloads a failed shared piece alone (lib/engine/download/refetch.ts). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { soleRefetcher } from '../../../lib/engine/download/refetch.ts'

test('the usable sender that sent the most; the first of equals; none when no sender is usable', () => {
  assert.equal(soleRefetcher(new Map([['a', 16384], ['b', 49152]]), () => true), 'b')
  assert.equal(soleRefetcher(new Map([['a', 16384], ['b', 49152]]), (id) => id !== 'b'), 'a')
  assert.equal(soleRefetcher(new Map([['a', 100], ['b', 100]]), () => true), 'a')
  assert.equal(soleRefetcher(new Map([['a', 100]]), () => false), undefined)
  assert.equal(soleRefetcher(new Map(), () => true), undefined)
})

test('always a usable sender with no usable sender sending more', () => {
  const entry = fc.tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.nat(1 << 20), fc.boolean())
  fc.assert(fc.property(fc.uniqueArray(entry, { selector: ([id]) => id, maxLength: 8 }), (entries) => {
    const senders = new Map(entries.map(([id, bytes]) => [id, bytes]))
    const okIds = new Set(entries.filter(([, , ok]) => ok).map(([id]) => id))
    const usable = (id: string) => okIds.has(id)
    const got = soleRefetcher(senders, usable)
    const ok = [...senders].filter(([id]) => usable(id))
    if (ok.length === 0) return assert.equal(got, undefined)
    assert.ok(got !== undefined && usable(got))
    assert.equal(senders.get(got), Math.max(...ok.map(([, b]) => b)))
  }))
})
