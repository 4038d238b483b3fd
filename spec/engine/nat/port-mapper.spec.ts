/**
 * The engine's port mappings (lib/engine/nat/port-mapper.ts) against fake
 * routers on loopback: NAT-PMP first, UPnP when NAT-PMP is silent, the note
 * when both fail (junk XML, garbage, silence), renewal and retry on the
 * policy's schedule (a manual clock), removal on close, bounded.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PortMapper, type MapperClock } from '../../../lib/engine/nat/port-mapper.ts'
import { FAKE_EXTERNAL, fakeIgd, fakeNatPmp } from '../../support/fake-router.ts'

/** Timers held until the spec fires them. */
class ManualTimers implements MapperClock {
  t = 1_000_000
  timers: Array<{ at: number; fn: () => void; live: boolean }> = []
  now = (): number => this.t
  setTimeout = (fn: () => void, ms: number): unknown => {
    const h = { at: this.t + ms, fn, live: true }
    this.timers.push(h)
    return h
  }
  clearTimeout = (h: unknown): void => {
    if (h !== null && typeof h === 'object') (h as { live: boolean }).live = false
  }
  /** The next live timer's delay from now. */
  pending(): number | null {
    const live = this.timers.filter((h) => h.live)
    return live.length === 0 ? null : live[live.length - 1]!.at - this.t
  }
  fire(): void {
    const h = this.timers.filter((x) => x.live).pop()!
    h.live = false
    this.t = h.at
    h.fn()
  }
}

const ports = (port: number) => [
  { protocol: 'tcp' as const, port },
  { protocol: 'udp' as const, port }
]

test('NAT-PMP maps TCP and UDP, renews at half the lease, and removes both on close', async (t) => {
  const gw = await fakeNatPmp('ok')
  const igd = await fakeIgd({ ssdp: 'ok', description: 'ok', control: 'ok' })
  t.after(() => Promise.all([gw.close(), igd.close()]))
  gw.grant = 600
  const clock = new ManualTimers()
  const m = new PortMapper({ gateway: '127.0.0.1', natPmpPort: gw.port, ssdpTarget: igd.ssdpTarget }, ports(40020), clock)
  assert.equal(m.note(), 'mapping')
  m.start()
  await m.settled()
  assert.equal(m.note(), `natpmp: tcp ${FAKE_EXTERNAL}:40020, udp ${FAKE_EXTERNAL}:40020`)
  assert.equal(m.externalPort('tcp', 40020), 40020)
  assert.equal(m.externalAddress(), FAKE_EXTERNAL)
  assert.deepEqual([...gw.mappings].sort(), [['tcp:40020', 600], ['udp:40020', 600]])
  assert.equal(igd.actions.length, 0, 'UPnP is not asked when NAT-PMP worked')
  assert.equal(clock.pending(), 300_000)
  const before = gw.requests.length
  clock.fire()
  await new Promise((r) => setImmediate(r))
  while (gw.requests.length < before + 3) await new Promise((r) => setTimeout(r, 10))
  await m.close()
  assert.equal(gw.mappings.size, 0)
  assert.equal(m.externalPort('tcp', 40020), null)
})

test('a silent NAT-PMP gateway: UPnP maps instead, and close deletes the mappings there', async (t) => {
  const gw = await fakeNatPmp('silent')
  const igd = await fakeIgd({ ssdp: 'ok', description: 'ok', control: 'ok' })
  t.after(() => Promise.all([gw.close(), igd.close()]))
  const m = new PortMapper({ gateway: '127.0.0.1', natPmpPort: gw.port, ssdpTarget: igd.ssdpTarget }, ports(40021), new ManualTimers())
  m.start()
  await m.settled()
  assert.equal(m.note(), `upnp: tcp ${FAKE_EXTERNAL}:40021, udp ${FAKE_EXTERNAL}:40021`)
  assert.deepEqual([...igd.mappings.keys()].sort(), ['TCP:40021', 'UDP:40021'])
  await m.close()
  assert.equal(igd.mappings.size, 0)
})

test('NAT-PMP garbage and a UPnP router with junk XML: not mapped, both reasons noted, a retry after 30 s', async (t) => {
  const gw = await fakeNatPmp('garbage')
  const igd = await fakeIgd({ ssdp: 'ok', description: 'junk', control: 'ok' })
  t.after(() => Promise.all([gw.close(), igd.close()]))
  const clock = new ManualTimers()
  const m = new PortMapper({ gateway: '127.0.0.1', natPmpPort: gw.port, ssdpTarget: igd.ssdpTarget }, ports(40022), clock)
  m.start()
  await m.settled()
  assert.match(m.note(), /^not mapped \(pcp: malformed replies only \(\d+\) from 127\.0\.0\.1; natpmp: malformed replies only \(\d+\) from 127\.0\.0\.1; upnp: description http:\/\/127\.0\.0\.1:\d+\/rootDesc\.xml names no WANIPConnection or WANPPPConnection service\)$/)
  assert.equal(m.externalPort('tcp', 40022), null)
  assert.equal(clock.pending(), 30_000)
  await m.close()
})

test('SSDP silence and NAT-PMP off: not mapped, saying no gateway answered; junk SOAP says so too', async (t) => {
  const igd = await fakeIgd({ ssdp: 'silent', description: 'ok', control: 'junk' })
  t.after(() => igd.close())
  const m = new PortMapper({ gateway: false, ssdpTarget: igd.ssdpTarget }, ports(40023), new ManualTimers())
  m.start()
  await m.settled()
  assert.equal(m.note(), 'not mapped (pcp: off; natpmp: off; upnp: no UPnP gateway answered the SSDP search)')
  await m.close()
  igd.behaviour.ssdp = 'ok'
  const m2 = new PortMapper({ gateway: false, ssdpTarget: igd.ssdpTarget }, ports(40024), new ManualTimers())
  m2.start()
  await m2.settled()
  assert.match(m2.note(), /^not mapped \(pcp: off; natpmp: off; upnp: tcp 40024: AddPortMapping: malformed answer .*; upnp: udp 40024: AddPortMapping: malformed answer/)
  await m2.close()
})

test('a port added later is mapped at once; close is bounded when the router stops answering', async (t) => {
  const gw = await fakeNatPmp('ok')
  t.after(() => gw.close())
  const m = new PortMapper({ gateway: '127.0.0.1', natPmpPort: gw.port, upnp: false }, [{ protocol: 'tcp', port: 40025 }], new ManualTimers())
  m.start()
  await m.settled()
  m.add({ protocol: 'udp', port: 40026 })
  while (m.externalPort('udp', 40026) === null) await new Promise((r) => setTimeout(r, 10))
  assert.deepEqual([...gw.mappings.keys()].sort(), ['tcp:40025', 'udp:40026'])
  gw.mode = 'silent'
  await m.close(200)
  assert.equal(m.note(), 'closed')
})

test('PCP first when the gateway speaks it: both ports mapped with the external address, renewed and deleted with their nonces', async (t) => {
  const gw = await fakeNatPmp('ok')
  gw.pcp = true
  t.after(() => gw.close())
  const clock = new ManualTimers()
  const m = new PortMapper({ gateway: '127.0.0.1', natPmpPort: gw.port, upnp: false }, ports(40027), clock)
  m.start()
  await m.settled()
  assert.equal(m.note(), `pcp: tcp ${FAKE_EXTERNAL}:40027, udp ${FAKE_EXTERNAL}:40027`)
  assert.deepEqual(gw.requests.map((r) => r.op), [1, 1], 'two MAP requests, no NAT-PMP')
  clock.fire()
  while (gw.requests.length < 4) await new Promise((r) => setTimeout(r, 10))
  await m.close()
  assert.equal(gw.mappings.size, 0, 'deleted: the renewal kept each mapping\'s nonce')
})
