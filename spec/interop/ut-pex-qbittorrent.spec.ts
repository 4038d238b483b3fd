// BEP 11 against libtorrent (qbittorrent-nox 4.5.2 / libtorrent 2.0.8) on 127.0.0.1, both ways:
// we learn from its ut_pex messages, and it dials a peer it heard of only through ours.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { utMetadata } from '../../lib/engine/wire/ut-metadata.ts'
import { createPex, type PexSwarm } from '../../lib/engine/swarm/pex.ts'
import { startQbittorrent } from '../support/peers/qbittorrent.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeInfo, within } from '../support/discovery.ts'

interface Peer { server: Server; addr: string; pex: PexSwarm; wires: Wire[]; handshakes: string[] }

async function ourPeer (info: Uint8Array, infoHash: string): Promise<Peer> {
  const pex = createPex({ private: false, intervalMs: 500, minIncomingIntervalMs: 0 })!
  const p: Peer = { server: createServer(), addr: '', pex, wires: [], handshakes: [] }
  p.server.on('connection', socket => {
    const wire = new Wire('tcpIncoming')
    p.wires.push(wire)
    wire.use(utMetadata({ info }))
    wire.use(pex.extension)
    socket.on('error', () => {})
    socket.pipe(wire).pipe(socket)
    wire.on('handshake', (ih: string) => {
      p.handshakes.push(ih)
      if (ih === infoHash) wire.handshake(ih, randomBytes(20)); else wire.destroy()
    })
  })
  p.server.listen(0, '127.0.0.1')
  await once(p.server, 'listening')
  p.addr = `127.0.0.1:${(p.server.address() as { port: number }).port}`
  return p
}

test('pex: interoperates with qbittorrent-nox both ways', { timeout: 60_000 }, async (t) => {
  const { info, infoHash } = makeInfo(100, 'pex-interop.bin')
  const announce = 'http://127.0.0.1:1/announce'
  const torrent = Buffer.concat([Buffer.from(`d8:announce${announce.length}:${announce}4:info`), info, Buffer.from('e')])
  const [x, y, z] = [await ourPeer(info, infoHash), await ourPeer(info, infoHash), await ourPeer(info, infoHash)]
  t.after(() => { for (const p of [x, y, z]) { p.pex.destroy(); for (const w of p.wires) w.destroy(); p.server.close() } })

  const learntByX = new Set<string>()
  const xLearnsY = new Promise<void>(resolve => x.pex.on('peer', addr => { learntByX.add(addr); if (addr === y.addr) resolve() }))
  // X "is connected to" Z, which qBittorrent is never told about: only X's PEX can lead it there.
  x.pex.connected(z.addr)
  const zDialled = new Promise<void>(resolve => {
    z.server.on('connection', s => s.once('data', () => resolve()))
  })

  const qb = await startQbittorrent({ bitTorrentSettings: ['Session\\BTProtocol=TCP', 'Session\\PeXEnabled=true'] })
  t.after(() => qb.close())
  const out = await makeTempDir('tp-pex-qb-')
  t.after(() => out.close())
  await qb.addTorrent(torrent, infoHash, { savePath: out.path })
  await qb.addPeers(infoHash, [x.addr, y.addr])

  await within(xLearnsY, 20_000, 'X learns Y from libtorrent\'s ut_pex')
  await within(zDialled, 20_000, 'libtorrent dials Z, learnt from our ut_pex')
  for (let i = 0; i < 100 && !z.handshakes.includes(infoHash); i++) await new Promise(resolve => setTimeout(resolve, 50))
  assert.ok(z.handshakes.includes(infoHash), 'libtorrent handshook Z for the torrent')
})
