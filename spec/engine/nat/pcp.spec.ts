/** PCP client (lib/engine/nat/pcp.ts) against a fake gateway on loopback: MAP with its nonce, a NAT-PMP-only gateway, garbage, silence. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pcpMap } from '../../../lib/engine/nat/pcp.ts'
import { FAKE_EXTERNAL, fakeNatPmp } from '../../support/fake-router.ts'

test('a MAP is granted with the external address; deleting needs the mapping\'s own nonce', async (t) => {
  const gw = await fakeNatPmp('ok')
  gw.pcp = true
  t.after(() => gw.close())
  const target = { gateway: '127.0.0.1', port: gw.port }
  gw.grant = 300
  const g = await pcpMap(target, 'tcp', 40030, 3600)
  assert.deepEqual({ ...g, nonce: g.nonce.length }, { externalPort: 40030, externalAddress: FAKE_EXTERNAL, lifetime: 300, nonce: 12 })
  assert.deepEqual([...gw.mappings], [['tcp:40030', 300]])
  await assert.rejects(pcpMap(target, 'tcp', 40030, 0), /gateway refused: not authorized/)
  await pcpMap(target, 'tcp', 40030, 0, g.nonce)
  assert.equal(gw.mappings.size, 0)
})

test('a NAT-PMP-only gateway answers "unsupported version": the request fails at once, saying so', async (t) => {
  const gw = await fakeNatPmp('ok')
  t.after(() => gw.close())
  await assert.rejects(pcpMap({ gateway: '127.0.0.1', port: gw.port }, 'udp', 40031, 3600), /the gateway speaks NAT-PMP only/)
  assert.equal(gw.requests.length, 1)
})

test('garbage and silence: bounded retries, then the reason', async (t) => {
  const gw = await fakeNatPmp('garbage')
  t.after(() => gw.close())
  await assert.rejects(pcpMap({ gateway: '127.0.0.1', port: gw.port, tries: 2 }, 'tcp', 40032, 3600), /malformed replies only/)
  gw.mode = 'silent'
  await assert.rejects(pcpMap({ gateway: '127.0.0.1', port: gw.port, tries: 2 }, 'tcp', 40032, 3600), /no answer from 127\.0\.0\.1/)
})
