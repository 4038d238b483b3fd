// BEP 14 on loopback: multicast joined and sent on 127.0.0.1 only, on a group port of our own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { createLsd, parseLsdAnnounce, type Lsd } from '../../../lib/engine/swarm/lsd.ts'
import { freePort } from '../../support/peers/ports.ts'
import { within } from '../../support/discovery.ts'

test('lsd: parses announces strictly and never throws', () => {
  const ih = 'ab'.repeat(20)
  const ok = parseLsdAnnounce(Buffer.from(`BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\nInfohash: ${ih.toUpperCase()}\r\ncookie: x\r\n\r\n\r\n`))
  assert.deepEqual(ok, { port: 6881, infoHashes: [ih], cookie: 'x' })
  for (const bad of ['BT-SEARCH * HTTP/1.1', 'BT-SEARCH * HTTP/1.1\r\nPort: 0\r\nInfohash: ' + ih, 'BT-SEARCH * HTTP/1.1\r\nPort: 70000\r\nInfohash: ' + ih,
    'BT-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: xyz', 'GET / HTTP/1.1\r\nPort: 1\r\nInfohash: ' + ih, 'x'.repeat(5000), '']) {
    assert.equal(parseLsdAnnounce(Buffer.from(bad)), null, JSON.stringify(bad.slice(0, 60)))
  }
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), b => { parseLsdAnnounce(Buffer.concat([Buffer.from('BT-SEARCH * HTTP/1.1\r\n'), b])) }), { numRuns: 2000 })
})

test('lsd: B hears A announce over loopback multicast; A ignores itself; junk datagrams are harmless', { timeout: 15_000 }, async (t) => {
  const groupPort = await freePort('both')
  const a = createLsd({ port: 40_001, interface: '127.0.0.1', groupPort })
  const b = createLsd({ port: 40_002, interface: '127.0.0.1', groupPort })
  const all: Lsd[] = [a, b]
  t.after(async () => { await Promise.all(all.map(l => l.destroy())) })
  await within(Promise.all([a.ready, b.ready]), 5000, 'lsd ready')
  const heardByA: string[] = []
  a.on('peer', addr => heardByA.push(addr))
  const warnings: string[] = []
  b.on('warning', r => warnings.push(r))

  // Junk first, straight to B's port: one-liners crashed bittorrent-lsd 2.0.3.
  const junk = dgram.createSocket('udp4')
  t.after(() => junk.close())
  for (const j of ['BT-SEARCH * HTTP/1.1', 'garbage', 'BT-SEARCH * HTTP/1.1\r\nPort: x\r\n']) {
    await new Promise<void>((resolve, reject) => junk.send(j, groupPort, '127.0.0.1', e => e ? reject(e) : resolve()))
  }

  const infoHash = randomBytes(20).toString('hex')
  const heard = new Promise<[string, string]>(resolve => b.on('peer', (addr, ih) => { if (ih === infoHash) resolve([addr, ih]) }))
  a.add(infoHash)
  assert.deepEqual(await within(heard, 5000, 'B hears A'), ['127.0.0.1:40001', infoHash])
  assert.ok(warnings.length >= 3, warnings.join('; '))
  assert.deepEqual(heardByA, [], 'A does not hear its own announce')
})
