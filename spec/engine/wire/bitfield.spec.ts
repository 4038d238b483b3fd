import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'

test('wire order: piece 0 is the MSB of byte 0, spare bits zero', () => {
  const b = new Bitfield(10)
  b.set(0)
  b.set(9)
  assert.deepEqual([...b.toBytes()], [0x80, 0x40])
  assert.equal(b.get(0), true)
  assert.equal(b.get(1), false)
  assert.equal(b.get(9), true)
  assert.equal(b.count(), 2)
})

test('set/clear keeps count exact and is idempotent', () => {
  const b = new Bitfield(17)
  b.set(3); b.set(3); b.set(16)
  assert.equal(b.count(), 2)
  b.set(3, false); b.set(3, false)
  assert.equal(b.count(), 1)
  assert.equal(b.get(3), false)
  assert.deepEqual([...b.setIndices()], [16])
})

test('all() and none()', () => {
  const b = new Bitfield(9)
  assert.equal(b.none(), true)
  for (let i = 0; i < 9; i++) b.set(i)
  assert.equal(b.all(), true)
  assert.deepEqual([...b.toBytes()], [0xff, 0x80])
  assert.equal(new Bitfield(0).all(), true)
  assert.equal(new Bitfield(0).toBytes().length, 0)
})

test('out of range: get false, set throws', () => {
  const b = new Bitfield(8)
  assert.equal(b.get(8), false)
  assert.equal(b.get(-1), false)
  assert.throws(() => b.set(8), RangeError)
  assert.throws(() => b.set(-1), RangeError)
  assert.throws(() => b.set(1.5), RangeError)
})

test('fromBytes rejects wrong size and spare bits', () => {
  assert.equal(Bitfield.fromBytes(new Uint8Array(1), 10), null)
  assert.equal(Bitfield.fromBytes(new Uint8Array(3), 10), null)
  assert.equal(Bitfield.fromBytes(new Uint8Array([0, 0x20]), 10), null)
  assert.equal(Bitfield.fromBytes(new Uint8Array([0, 0x01]), 10), null)
  assert.equal(Bitfield.fromBytes(new Uint8Array(0), -1), null)
  const ok = Bitfield.fromBytes(new Uint8Array([0xff, 0xc0]), 10)
  assert.ok(ok)
  assert.equal(ok.count(), 10)
  assert.equal(ok.all(), true)
  assert.ok(Bitfield.fromBytes(new Uint8Array([0xff]), 8))
})

test('constructor copies its input and clears spare bits', () => {
  const src = new Uint8Array([0xff, 0xff])
  const b = new Bitfield(10, src)
  src[0] = 0
  assert.equal(b.get(0), true)
  assert.equal(b.count(), 10)
  assert.deepEqual([...b.toBytes()], [0xff, 0xc0])
  assert.throws(() => new Bitfield(10, new Uint8Array(1)), RangeError)
  const c = b.clone()
  c.set(0, false)
  assert.equal(b.get(0), true)
})

test('property: toBytes/fromBytes roundtrip and count matches', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.nat({ max: Math.max(0, n - 1) }), { maxLength: n }))), ([n, idx]) => {
      const b = new Bitfield(n)
      const want = new Set(n === 0 ? [] : idx)
      for (const i of want) b.set(i)
      const bytes = b.toBytes()
      assert.equal(bytes.length, Math.ceil(n / 8))
      const back = Bitfield.fromBytes(bytes, n)
      assert.ok(back)
      assert.equal(back.count(), want.size)
      for (let i = 0; i < n; i++) assert.equal(back.get(i), want.has(i))
      assert.deepEqual([...back.toBytes()], [...bytes])
    }),
  )
})
