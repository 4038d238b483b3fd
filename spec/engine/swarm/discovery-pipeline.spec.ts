// The integration recipe of docs/discovery.md, run end to end on loopback: a magnet-style
// start with no tracker. The seeder announces on a local DHT; the leecher looks the infohash
// up, dials the peer it finds, fetches and verifies the info dict, and counts the peer as 'dht'.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { createDht, type DhtPeer } from '../../../lib/engine/swarm/dht.ts'
import { createMetadataFetcher } from '../../../lib/engine/torrent/metadata-fetcher.ts'
import { createPex } from '../../../lib/engine/swarm/pex.ts'
import { PeerSources } from '../../../lib/engine/swarm/peer-sources.ts'
import { utMetadata } from '../../../lib/engine/wire/ut-metadata.ts'
import { metainfoFromInfoBytes } from '../../../lib/engine/metainfo/index.ts'
import { makeInfo, within } from '../../support/discovery.ts'

test('pipeline: DHT lookup -> dial -> ut_metadata -> verified metainfo, counted as a dht peer', { timeout: 30_000 }, async (t) => {
  const { info, infoHash } = makeInfo(1500)

  // Seeder: serves ut_metadata (and PEX, as the engine would) to every incoming wire.
  const seederPex = createPex({ private: false })!
  const wires: Wire[] = []
  const server = createServer(socket => {
    const wire = new Wire('tcpIncoming')
    wires.push(wire)
    wire.use(utMetadata({ info }))
    wire.use(seederPex.extension)
    socket.on('error', () => {})
    socket.pipe(wire).pipe(socket)
    wire.on('handshake', (ih: string) => { if (ih === infoHash) wire.handshake(ih, randomBytes(20)); else wire.destroy() })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const seedPort = (server.address() as { port: number }).port
  t.after(() => { seederPex.destroy(); for (const w of wires) w.destroy(); server.close() })

  // A local DHT: a bootstrap node, the seeder's node and the leecher's node.
  const boot = createDht({ bootstrap: [], host: '127.0.0.1' })
  t.after(() => boot.destroy())
  await within(boot.ready, 5000, 'boot')
  const bootstrap = [`127.0.0.1:${boot.port}`]
  const seedDht = createDht({ bootstrap, host: '127.0.0.1' })
  const leechDht = createDht({ bootstrap, host: '127.0.0.1' })
  t.after(() => seedDht.destroy())
  t.after(() => leechDht.destroy())
  await within(Promise.all([seedDht.ready, leechDht.ready]), 10_000, 'dht ready')
  await within(seedDht.announce(infoHash, seedPort), 10_000, 'announce')

  // Leecher: the engine-core side of the recipe.
  const sources = new PeerSources()
  let fetched: Uint8Array | null = null
  const fetcher = createMetadataFetcher({ infoHash, onBadPeer: w => (w as Wire).destroy() })
  t.after(() => fetcher.destroy())
  const dialled = new Set<string>()
  const dial = async (addr: string): Promise<void> => {
    if (dialled.has(addr)) return
    dialled.add(addr)
    const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))]
    const socket = connect(port, host)
    socket.on('error', () => {})
    await once(socket, 'connect')
    const wire = new Wire('tcpOutgoing')
    wires.push(wire)
    wire.use(utMetadata({ info: () => fetched }))
    socket.pipe(wire).pipe(socket)
    wire.on('close', () => { fetcher.remove(wire); sources.disconnected(addr) })
    wire.handshake(infoHash, randomBytes(20))
    await once(wire, 'handshake')
    sources.connected(addr)
    fetcher.add(wire)
  }
  leechDht.on('peer', (peer: DhtPeer, ih: string) => {
    if (ih !== infoHash) return
    const addr = `${peer.host}:${peer.port}`
    sources.learnt(addr, 'dht')
    void dial(addr).catch(() => {})
  })
  await within(leechDht.lookup(infoHash), 10_000, 'lookup')

  fetched = await within(fetcher.metadata, 10_000, 'metadata')
  const meta = await metainfoFromInfoBytes(fetched, {})
  assert.ok(meta.ok, meta.ok ? '' : meta.reason)
  assert.equal(meta.value.infoHash, infoHash)
  assert.deepEqual(Buffer.from(meta.value.infoBytes), Buffer.from(info))
  assert.equal(sources.snapshot().dht, 1)
  assert.deepEqual([...dialled], [`127.0.0.1:${seedPort}`])
})
