import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { newCappedWire, MAX_MESSAGE } from '../../../lib/engine/wire/capped-wire.ts'

/** A wire past its handshake, so what follows is parsed as messages. */
const handshaken = () => {
  const wire = newCappedWire('tcpIncoming')
  wire.on('error', () => {})
  const hs = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), randomBytes(20), randomBytes(20)])
  wire.write(hs)
  return wire
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

test('capped wire: a length prefix over MAX_MESSAGE is refused before its body is buffered', async () => {
  const wire = handshaken()
  const oversize = once(wire, 'oversize')
  wire.write(u32(MAX_MESSAGE + 1))
  assert.deepEqual(await oversize, [MAX_MESSAGE + 1])
})

test('capped wire: a message shorter than its id needs (a have of 1 byte) is malformed, not "have 0"', async () => {
  const wire = handshaken()
  let have = false
  wire.on('have', () => (have = true))
  const malformed = once(wire, 'malformed')
  wire.write(Buffer.concat([u32(2), Buffer.from([4, 0])]))
  assert.deepEqual(await malformed, [4, 2])
  assert.equal(have, false)
})

test('capped wire: bodySince marks a pending body and clears when it is complete', async () => {
  const wire = handshaken()
  wire.write(Buffer.concat([u32(5), Buffer.from([4, 0])]))
  await new Promise(setImmediate)
  assert.ok(wire.bodySince > 0, 'a have body is pending')
  const have = once(wire, 'have')
  wire.write(Buffer.from([0, 0, 7]))
  assert.deepEqual(await have, [7])
  assert.equal(wire.bodySince, 0)
})
