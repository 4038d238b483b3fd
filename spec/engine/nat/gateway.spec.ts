/** The default gateway from Linux's routing table (lib/engine/nat/gateway.ts). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { defaultGateway, parseDefaultGateway } from '../../../lib/engine/nat/gateway.ts'

const header = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n'

test('the first up default route with a gateway is read, little-endian', () => {
  const table = header + 'eth0\t0064A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' + 'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n'
  assert.equal(parseDefaultGateway(table), '192.0.2.1')
})

test('no default route, a route without the gateway flag, or junk: none', () => {
  assert.equal(parseDefaultGateway(header + 'eth0\t0064A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n'), null)
  assert.equal(parseDefaultGateway(header + 'eth0\t00000000\t010200C0\t0001\t0\t0\t0\t00000000\n'), null)
  assert.equal(parseDefaultGateway(header + 'eth0\t00000000\tnothex!!\t0003\n'), null)
  assert.equal(parseDefaultGateway(''), null)
  assert.equal(parseDefaultGateway('garbage'), null)
})

test('defaultGateway reads this host\'s table without throwing', async () => {
  const gw = await defaultGateway()
  assert.ok(gw === null || /^\d+\.\d+\.\d+\.\d+$/.test(gw))
})
