/** SSDP search (lib/engine/nat/ssdp.ts) against a fake gateway's answerer on loopback. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseSsdpAnswer, ssdpSearch } from '../../../lib/engine/nat/ssdp.ts'
import { fakeIgd } from '../../support/fake-router.ts'

const target = (s: string): { host: string; port: number } => ({ host: s.split(':')[0]!, port: Number(s.split(':')[1]) })

test('answers are parsed: status line, headers by lower-case name; anything else is no answer', () => {
  const h = parseSsdpAnswer('HTTP/1.1 200 OK\r\nLocation: http://192.0.2.1:5000/d.xml\r\nST: x\r\n\r\n')
  assert.equal(h?.get('location'), 'http://192.0.2.1:5000/d.xml')
  assert.equal(h?.get('st'), 'x')
  assert.equal(parseSsdpAnswer('NOTIFY * HTTP/1.1\r\n\r\n'), null)
  assert.equal(parseSsdpAnswer('\u0000\u0001garbage'), null)
})

test('the gateway that answers is found with its description URL', async (t) => {
  const igd = await fakeIgd({ ssdp: 'ok', description: 'ok', control: 'ok' })
  t.after(() => igd.close())
  const a = await ssdpSearch(target(igd.ssdpTarget), 3000)
  assert.match(a.location, /^http:\/\/127\.0\.0\.1:\d+\/rootDesc\.xml$/)
  assert.equal(a.from, '127.0.0.1')
})

test('silence, and an answer whose LOCATION names another host, both end in a reason', async (t) => {
  const igd = await fakeIgd({ ssdp: 'silent', description: 'ok', control: 'ok' })
  t.after(() => igd.close())
  await assert.rejects(ssdpSearch(target(igd.ssdpTarget), 1500), /no UPnP gateway answered the SSDP search/)
  igd.behaviour.ssdp = 'elsewhere'
  await assert.rejects(ssdpSearch(target(igd.ssdpTarget), 1500), /no usable SSDP answer \(\d+ ignored\)/)
})
