/** UPnP IGD client (lib/engine/nat/upnp-igd.ts) against a fake IGD on loopback: description, SOAP actions, junk. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { elementTexts, findIgdService, upnpAddMapping, upnpDeleteMapping, upnpExternalAddress } from '../../../lib/engine/nat/upnp-igd.ts'
import { FAKE_EXTERNAL, fakeIgd } from '../../support/fake-router.ts'

const descUrl = (_ssdpTarget: string, port: number): string => `http://127.0.0.1:${port}/rootDesc.xml`

const httpPort = async (igd: { ssdpTarget: string }): Promise<number> => {
  const { ssdpSearch } = await import('../../../lib/engine/nat/ssdp.ts')
  const [host, port] = igd.ssdpTarget.split(':')
  return Number(new URL((await ssdpSearch({ host: host!, port: Number(port) }, 3000)).location).port)
}

test('elementTexts finds elements under any prefix, and nothing in junk', () => {
  assert.deepEqual(elementTexts('<a><s:b>1</s:b><b x="y">2</b><bc>3</bc></a>', 'b'), ['1', '2'])
  assert.deepEqual(elementTexts('<<<</b> & <b', 'b'), [])
})

test('the WANIPConnection service is found, ports mapped and removed, the external address read', async (t) => {
  const igd = await fakeIgd({ ssdp: 'ok', description: 'ok', control: 'ok' })
  t.after(() => igd.close())
  const port = await httpPort(igd)
  const svc = await findIgdService(descUrl(igd.ssdpTarget, port))
  assert.equal(svc.serviceType, 'urn:schemas-upnp-org:service:WANIPConnection:1')
  assert.equal(svc.controlUrl, `http://127.0.0.1:${port}/ctl/IPConn`)
  assert.equal(svc.localAddress, '127.0.0.1')
  assert.equal(await upnpExternalAddress(svc), FAKE_EXTERNAL)
  assert.equal(await upnpAddMapping(svc, 'tcp', 40010, 3600, 'torrent-patron'), 3600)
  assert.equal(igd.lastClient, '127.0.0.1')
  assert.deepEqual([...igd.mappings], [['TCP:40010', 3600]])
  await upnpDeleteMapping(svc, 'tcp', 40010)
  assert.equal(igd.mappings.size, 0)
  await assert.rejects(upnpDeleteMapping(svc, 'tcp', 40010), /UPnP error 714 \(no such entry\)/)
})

test('a gateway with permanent leases only is asked again for one', async (t) => {
  const igd = await fakeIgd({ ssdp: 'ok', description: 'ok', control: 'permanent' })
  t.after(() => igd.close())
  const svc = await findIgdService(descUrl(igd.ssdpTarget, await httpPort(igd)))
  assert.equal(await upnpAddMapping(svc, 'udp', 40011, 3600, 'torrent-patron'), 0)
  assert.deepEqual([...igd.mappings], [['UDP:40011', 0]])
})

test('junk: a description that is not XML, one without a WAN service, SOAP answers that are junk', async (t) => {
  const igd = await fakeIgd({ ssdp: 'ok', description: 'junk', control: 'ok' })
  t.after(() => igd.close())
  const url = descUrl(igd.ssdpTarget, await httpPort(igd))
  await assert.rejects(findIgdService(url), /names no WANIPConnection or WANPPPConnection service/)
  igd.behaviour.description = 'noservice'
  await assert.rejects(findIgdService(url), /names no WANIPConnection/)
  igd.behaviour.description = 'ok'
  const svc = await findIgdService(url)
  igd.behaviour.control = 'junk'
  await assert.rejects(upnpAddMapping(svc, 'tcp', 40012, 3600, 'x'), /AddPortMapping: malformed answer \(HTTP 200/)
  await assert.rejects(upnpExternalAddress(svc), /GetExternalIPAddress: malformed answer/)
})
