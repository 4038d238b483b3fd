// BEP 5 on a DHT made only of local nodes on 127.0.0.1: never the public routers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { readdir, writeFile } from 'node:fs/promises'
import { createDht, loadDhtState, saveDhtState, PUBLIC_BOOTSTRAP, type Dht, type DhtPeer } from '../../../lib/engine/swarm/dht.ts'
import { makeTempDir } from '../../support/peers/tmp.ts'
import { within } from '../../support/discovery.ts'
import { fillUp, mountTmpfs } from '../../support/mounts.ts'

// Every UDP datagram this process sends is recorded: the whole file must stay on loopback.
const destinations = new Set<string>()
const originalSend = dgram.Socket.prototype.send
dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
  const address = args.find((a, i) => i > 0 && typeof a === 'string' && a.length > 0)
  destinations.add(typeof address === 'string' ? address : '(default)')
  return (originalSend as (...a: unknown[]) => void).apply(this, args)
} as typeof dgram.Socket.prototype.send

/** A lone bootstrap node, then nodes that know only it. */
async function localNetwork (t: { after: (fn: () => Promise<void>) => void }, count: number): Promise<{ boot: Dht; nodes: Dht[]; bootstrap: string[] }> {
  const boot = createDht({ bootstrap: [], host: '127.0.0.1' })
  t.after(() => boot.destroy())
  await within(boot.ready, 5000, 'bootstrap node ready')
  const bootstrap = [`127.0.0.1:${boot.port}`]
  const nodes: Dht[] = []
  for (let i = 0; i < count; i++) {
    const d = createDht({ bootstrap, host: '127.0.0.1' })
    t.after(() => d.destroy())
    nodes.push(d)
  }
  await within(Promise.all(nodes.map(d => d.ready)), 10_000, 'nodes bootstrapped')
  return { boot, nodes, bootstrap }
}

function firstPeer (dht: Dht, infoHash: string, port: number): Promise<DhtPeer> {
  return new Promise(resolve => {
    const on = (peer: DhtPeer, ih: string): void => {
      if (ih === infoHash && peer.port === port) { dht.off('peer', on); resolve(peer) }
    }
    dht.on('peer', on)
  })
}

test('dht: bootstrap is never implicit; public routers are only a named constant', () => {
  assert.throws(() => createDht({} as never), /bootstrap must be given explicitly/)
  assert.ok(PUBLIC_BOOTSTRAP.every(b => !b.startsWith('127.')))
})

test('dht: B finds the peer A announced, through a local bootstrap node', { timeout: 30_000 }, async (t) => {
  const { nodes: [a, b] } = await localNetwork(t, 2)
  const infoHash = randomBytes(20).toString('hex')
  const port = 40_000 + Math.floor(Math.random() * 20_000)
  await within(a!.announce(infoHash, port), 10_000, 'announce')
  const found = firstPeer(b!, infoHash, port)
  await within(b!.lookup(infoHash), 10_000, 'lookup')
  const peer = await within(found, 5000, 'peer event')
  // bittorrent-dht keeps loopback peers: no private-address filter to work around.
  assert.deepEqual(peer, { host: '127.0.0.1', port })
})

test('dht: the routing table is saved and a restarted node finds peers through it alone', { timeout: 30_000 }, async (t) => {
  const tmp = await makeTempDir('tp-dht-')
  t.after(() => tmp.close())
  const { boot, nodes: [a, b] } = await localNetwork(t, 2)
  const infoHash = randomBytes(20).toString('hex')
  const port = 40_000 + Math.floor(Math.random() * 20_000)
  await within(a!.announce(infoHash, port), 10_000, 'announce')

  const file = join(tmp.path, 'state', 'dht.json')
  await b!.save(file)
  const state = await loadDhtState(file)
  assert.ok(state !== null)
  assert.ok(state.nodes.some(n => n.host === '127.0.0.1' && n.port === boot.port), JSON.stringify(state))
  await b!.destroy()

  // No bootstrap at all: only the saved contacts.
  const c = createDht({ bootstrap: [], host: '127.0.0.1', state })
  t.after(() => c.destroy())
  await within(c.ready, 5000, 'restarted node ready')
  for (let i = 0; i < 100 && c.nodeCount === 0; i++) await new Promise(resolve => setTimeout(resolve, 50))
  assert.ok(c.nodeCount > 0, 'saved nodes were pinged back into the table')
  const found = firstPeer(c, infoHash, port)
  await within(c.lookup(infoHash), 10_000, 'lookup')
  assert.deepEqual(await within(found, 5000, 'peer event'), { host: '127.0.0.1', port })

  // A damaged or foreign state file is ignored, not fatal.
  await writeFile(file, '{"nodes":[{"host":"../x","port":1},{"host":"10.0.0.1","port":99999}]')
  assert.equal(await loadDhtState(file), null)
  await writeFile(file, '{"nodes":[{"host":"::1","port":1},{"host":"127.0.0.1","port":7}]}')
  assert.deepEqual(await loadDhtState(file), { nodes: [{ host: '127.0.0.1', port: 7 }] })
  assert.equal(await loadDhtState(join(tmp.path, 'absent.json')), null)
})

test('dht: saving the routing table on a full disk fails with ENOSPC and leaves no temp file, nor the old table torn', async (t) => {
  const dir = await mountTmpfs(t, '256k')
  const file = join(dir, 'dht.json')
  const nodes = [{ host: '127.0.0.1', port: 6881 }]
  await saveDhtState(file, { nodes })
  await fillUp(join(dir, 'fill'))
  const many = Array.from({ length: 1000 }, (_, i) => ({ host: '127.0.0.1', port: 1000 + i }))
  await assert.rejects(saveDhtState(file, { nodes: many }), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC')
  assert.deepEqual((await readdir(dir)).sort(), ['dht.json', 'fill'])
  assert.deepEqual(await loadDhtState(file), { nodes })
})

test('dht: every datagram of this file went to 127.0.0.1', () => {
  assert.ok(destinations.size > 0, 'the recorder saw traffic')
  assert.deepEqual([...destinations], ['127.0.0.1'])
})
