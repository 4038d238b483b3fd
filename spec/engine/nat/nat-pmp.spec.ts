/** NAT-PMP client (lib/engine/nat/nat-pmp.ts) against a fake gateway on loopback: grants, refusals, garbage, silence. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { natPmpExternalAddress, natPmpMap } from '../../../lib/engine/nat/nat-pmp.ts'
import { FAKE_EXTERNAL, fakeNatPmp } from '../../support/fake-router.ts'

test('external address, a mapping with the lifetime granted, and its removal', async (t) => {
  const gw = await fakeNatPmp('ok')
  t.after(() => gw.close())
  const target = { gateway: '127.0.0.1', port: gw.port }
  assert.equal(await natPmpExternalAddress(target), FAKE_EXTERNAL)
  gw.grant = 120
  assert.deepEqual(await natPmpMap(target, 'udp', 40001, 3600), { externalPort: 40001, lifetime: 120 })
  assert.deepEqual(await natPmpMap(target, 'tcp', 40001, 3600), { externalPort: 40001, lifetime: 120 })
  assert.deepEqual([...gw.mappings.keys()].sort(), ['tcp:40001', 'udp:40001'])
  await natPmpMap(target, 'tcp', 40001, 0)
  assert.deepEqual([...gw.mappings.keys()], ['udp:40001'])
  assert.deepEqual(gw.requests.map((r) => r.op), [0, 1, 2, 2])
})

test('a refusal names the RFC 6886 result', async (t) => {
  const gw = await fakeNatPmp('refuse')
  t.after(() => gw.close())
  await assert.rejects(natPmpMap({ gateway: '127.0.0.1', port: gw.port }, 'tcp', 40002, 3600), /gateway refused: not authorized/)
})

test('garbage replies (short, wrong version, wrong opcode, truncated) never throw: the request fails saying so', async (t) => {
  const gw = await fakeNatPmp('garbage')
  t.after(() => gw.close())
  await assert.rejects(natPmpExternalAddress({ gateway: '127.0.0.1', port: gw.port, tries: 2 }), /malformed replies only \(\d+\) from 127\.0\.0\.1/)
  await assert.rejects(natPmpMap({ gateway: '127.0.0.1', port: gw.port, tries: 2 }, 'udp', 40003, 3600), /malformed replies only/)
  // each try was sent (no early give-up, no crash in between)
  assert.equal(gw.requests.length, 4)
})

test('a silent gateway: no answer after the bounded retries', async (t) => {
  const gw = await fakeNatPmp('silent')
  t.after(() => gw.close())
  await assert.rejects(natPmpExternalAddress({ gateway: '127.0.0.1', port: gw.port, tries: 3 }), /no answer from 127\.0\.0\.1/)
  assert.equal(gw.requests.length, 3)
})
