import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClientServices, PEER_ID_PREFIX } from '../../../lib/engine/client/services.ts'
import { resolveOptions } from '../../../lib/engine/client/options.ts'
import type { IncomingRoute } from '../../../lib/engine/client/listener.ts'
import { FAKE_EXTERNAL, fakeNatPmp } from '../../support/fake-router.ts'

const route: IncomingRoute = { adopt: () => false, resolve: () => undefined }
const local = (extra: Parameters<typeof resolveOptions>[0] = {}) =>
  resolveOptions({ host: '127.0.0.1', dht: false, hasherWorkers: 0, maxConns: 2, ...extra }, {}, '/tmp')

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port })
    s.once('connect', () => {
      s.destroy()
      resolve(false)
    })
    s.once('error', () => resolve(true))
  })

test('a torrent and a metadata phase get the same peer id, port and connection count', async () => {
  const services = new ClientServices(local(), route)
  try {
    const port = await services.port()
    assert.ok(port > 0)
    assert.ok(Buffer.from(services.peerId, 'hex').toString('latin1').startsWith(PEER_ID_PREFIX))
    let changes = 0
    const base = services.sessionBase(port, () => changes++)
    const ctx = services.torrentContext(port, () => changes++)
    assert.equal(base.peerId, ctx.peerId)
    assert.equal(base.port, port)
    assert.equal(ctx.port, port)
    // maxConns 2, counted across both.
    assert.equal(base.canConnect(), true)
    ctx.connectionsChanged(1)
    base.connectionsChanged(1)
    assert.equal(base.canConnect(), false)
    assert.equal(ctx.canConnect(), false)
    ctx.connectionsChanged(-1)
    assert.equal(base.canConnect(), true)
    base.changed()
    ctx.changed()
    assert.equal(changes, 2)
    assert.equal(base.isSelf?.('127.0.0.1', port), true, 'our own listen address')
    assert.equal(ctx.isSelf?.('127.0.0.1', port + 1), false)
  } finally {
    await services.close()
  }
})

test('the torrent context carries the resolved options; without a DHT or LSD it joins none', async () => {
  const services = new ClientServices(local({ uploadSlots: 7, requestTimeout: 1234, banStrikes: 5, torrentUploadRateLimit: 99, pex: false, hashInline: false }), route)
  try {
    const ctx = services.torrentContext(await services.port(), () => {})
    assert.deepEqual(
      [ctx.uploadSlots, ctx.requestTimeout, ctx.banStrikes, ctx.uploadRateLimit, ctx.downloadRateLimit, ctx.pex, ctx.hashInline, ctx.maxConnsPerTorrent],
      [7, 1234, 5, 99, 0, false, false, 50]
    )
    assert.equal(ctx.hasher, services.hasher)
    assert.equal(ctx.dhtPort, undefined, 'no PORT message without a DHT')
    assert.equal(ctx.joinDht?.('00'.repeat(20), false, { onPeer: () => {}, wanted: () => true }), null)
    assert.equal(ctx.joinLsd?.('00'.repeat(20), false, () => {}), null)
  } finally {
    await services.close()
  }
})

test('close releases the listener; a listener that cannot bind leaves a stand-in port, not a crash', async () => {
  const a = new ClientServices(local(), route)
  const port = await a.port()
  const b = new ClientServices(local({ port }), route)
  assert.equal(await b.port(), 6881, 'the port was taken')
  await b.close()
  await a.close()
  assert.equal(await refused(port), true)
})

test('port mapping: without it the note is "off" and no external port; with it the listen port (TCP) and the uTP port (UDP) are mapped and close removes them', async (t) => {
  const off = new ClientServices(local(), route)
  try {
    const ctx = off.torrentContext(await off.port(), () => {})
    assert.equal(ctx.portMappingNote?.(), 'off')
    assert.equal(ctx.externalPort?.(), null)
  } finally {
    await off.close()
  }
  const gw = await fakeNatPmp('ok')
  t.after(() => gw.close())
  const services = new ClientServices(local({ portMapping: { gateway: '127.0.0.1', natPmpPort: gw.port, upnp: false } }), route)
  try {
    const port = await services.port()
    await services.utp
    const ctx = services.torrentContext(port, () => {})
    while (!/^natpmp:/.test(ctx.portMappingNote?.() ?? '')) await new Promise((r) => setTimeout(r, 20))
    const udp = (await services.utp) === null ? '' : `, udp ${FAKE_EXTERNAL}:${port}`
    assert.equal(ctx.portMappingNote?.(), `natpmp: tcp ${FAKE_EXTERNAL}:${port}${udp}`)
    assert.equal(ctx.externalPort?.(), port)
    // a magnet's metadata phase shows the same in its stats
    assert.equal(services.sessionBase(port, () => {}).portMappingNote?.(), ctx.portMappingNote?.())
    assert.equal(services.sessionBase(port, () => {}).externalPort?.(), port)
    // what the tracker announces carry (port, and `ip`)
    assert.equal(ctx.externalIp?.(), FAKE_EXTERNAL)
    assert.ok(gw.mappings.has(`tcp:${port}`))
  } finally {
    await services.close()
  }
  assert.equal(gw.mappings.size, 0, 'removed on close')
})

test('port mapping: the DHT\'s UDP port is mapped once the DHT listens', async (t) => {
  const gw = await fakeNatPmp('ok')
  t.after(() => gw.close())
  const dir = mkdtempSync(join(tmpdir(), 't15n-dht-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const services = new ClientServices(
    local({ dht: { bootstrap: [], host: '127.0.0.1', stateFile: join(dir, 'dht.json') }, portMapping: { gateway: '127.0.0.1', natPmpPort: gw.port, upnp: false } }),
    route
  )
  try {
    const port = await services.port()
    const ctx = services.torrentContext(port, () => {})
    let dhtPort: number | null | undefined = null
    while (dhtPort === null || dhtPort === undefined || !gw.mappings.has(`udp:${dhtPort}`)) {
      await new Promise((r) => setTimeout(r, 20))
      dhtPort = ctx.dhtPort?.()
    }
    assert.notEqual(dhtPort, port)
    assert.ok(gw.mappings.has(`tcp:${port}`))
    assert.match(ctx.portMappingNote?.() ?? '', new RegExp(`udp ${FAKE_EXTERNAL.replace(/\./g, '\\.')}:${dhtPort}`))
  } finally {
    await services.close()
  }
  assert.equal(gw.mappings.size, 0)
})
