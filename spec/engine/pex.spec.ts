/**
 * Peer exchange (BEP 11) between real engines on 127.0.0.1: A seeds, B knows
 * only A, C knows only B. C learns A from B's ut_pex messages, dials it and
 * downloads from it. A runs with `pex: false` so that it cannot learn C from B
 * and dial it first (then C's connection to A would be incoming, not 'pex').
 * A private torrent gets no PEX: C only ever talks to B.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile, firstDifference } from '../support/peers/data.ts'
import { freePort } from '../support/peers/ports.ts'
import { trackerlessTorrent, recordUdpDestinations } from '../support/trackerless.ts'
import type { TorrentStats } from '../../lib/messages.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { createPex } from '../../lib/engine/swarm/pex.ts'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'

const udp = recordUdpDestinations()

async function infoHashOf (bytes: Uint8Array): Promise<string> {
  const r = await parseMetainfo(bytes)
  assert.ok(r.ok)
  return r.value.infoHash
}

async function swarm (t: { after(fn: () => unknown): void }, prefix: string, size: number, isPrivate: boolean) {
  const tmp = await makeTempDir(prefix)
  t.after(() => tmp.close())
  const seedDir = join(tmp.path, 'a')
  await mkdir(seedDir)
  const file = join(seedDir, 'payload.bin')
  await writeRandomFile(file, size)
  const bytes = await trackerlessTorrent(file, { private: isPrivate })
  const [portA, portB] = [await freePort(), await freePort()]
  const base = { host: '127.0.0.1', dht: false, pexInterval: 300 } as const
  const a = runEngine(t, { ...base, port: portA, pex: false })
  const aid = await a.create(bytes, seedDir)
  await a.waitSeeding(aid, 10_000)
  // B downloads slowly, so it is still connected to A (and has A in its PEX view) when C comes.
  const b = runEngine(t, { ...base, port: portB, torrentDownloadRateLimit: 256 << 10, ...(isPrivate ? {} : { torrentUploadRateLimit: 64 << 10 }) })
  const bid = await b.create(bytes, join(tmp.path, 'b'), [`127.0.0.1:${portA}`])
  await b.waitFor(bid, 'B has a piece from A', (s) => s.piecesDone > 0, 10_000)
  return { tmp, file, bytes, a, b, portA, portB, base }
}

test('pex: C, knowing only B, learns the seeder A through B and downloads from it', { timeout: 60_000 }, async (t) => {
  const { tmp, file, bytes, portA, portB, base } = await swarm(t, 'eng-pex-', 3 << 20, false)
  // C is throttled so its connection to A lasts a few status updates.
  const c = runEngine(t, { ...base, torrentDownloadRateLimit: 1 << 20 })
  const cid = await c.create(bytes, join(tmp.path, 'c'), [`127.0.0.1:${portB}`])
  const during = await c.waitFor(cid, 'a peer learnt by PEX', (s) => (s.peerSources?.pex ?? 0) >= 1, 20_000)
  assert.equal(during.peerSources?.manual, 1, JSON.stringify(during.peerSources))
  const through = c.handles.get(cid)!.peers().find((p) => p.source === 'pex')
  assert.equal(through?.address, `127.0.0.1:${portA}`)
  await c.waitSeeding(cid, 30_000)
  assert.equal(await firstDifference(file, join(tmp.path, 'c', 'payload.bin')), undefined)
  const by = c.handles.get(cid)!.contributed()
  assert.ok((by[`127.0.0.1:${portA}`] ?? 0) > 0, `A delivered nothing to C: ${JSON.stringify(by)}`)
})

test('pex: a magnet whose only hint serves no metadata but tells of A by ut_pex: the metadata phase finds A', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('eng-pex-magnet-')
  t.after(() => tmp.close())
  const seedDir = join(tmp.path, 'a')
  await mkdir(seedDir)
  const file = join(seedDir, 'payload.bin')
  await writeRandomFile(file, 1 << 20)
  const bytes = await trackerlessTorrent(file)
  const infoHash = await infoHashOf(bytes)
  const portA = await freePort()
  const a = runEngine(t, { host: '127.0.0.1', dht: false, port: portA, pex: false })
  await a.waitSeeding(await a.create(bytes, seedDir), 10_000)

  // The hint: a bare wire that has no metadata, only a ut_pex message naming A.
  const hint = createPex({ private: false })!
  t.after(() => hint.destroy())
  hint.connected(`127.0.0.1:${portA}`)
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    const wire = new Wire()
    socket.pipe(wire).pipe(socket)
    wire.use(hint.extension as unknown as Parameters<Wire['use']>[0])
    wire.on('handshake', (ih: string) => wire.handshake(ih, randomBytes(20).toString('hex')))
    wire.on('extended', (name: string) => { if (name === 'handshake') hint.flush() })
  })
  t.after(() => {
    for (const s of sockets) s.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const hintPort = (server.address() as net.AddressInfo).port

  const c = runEngine(t, { host: '127.0.0.1', dht: false, torrentDownloadRateLimit: 512 << 10 })
  const cid = await c.create(`magnet:?xt=urn:btih:${infoHash}&x.pe=127.0.0.1:${hintPort}`, join(tmp.path, 'c'))
  await c.waitFor(cid, 'downloading from the peer learnt by PEX', (s) => s.piecesTotal > 0 && (s.peerSources?.pex ?? 0) >= 1, 30_000)
  assert.equal(c.handles.get(cid)!.peers().find((p) => p.source === 'pex')?.address, `127.0.0.1:${portA}`)
  await c.waitSeeding(cid, 30_000)
  assert.equal(await firstDifference(file, join(tmp.path, 'c', 'payload.bin')), undefined)
})

test('pex: a private torrent exchanges no peers; C gets everything from B', { timeout: 60_000 }, async (t) => {
  const { tmp, file, bytes, portA, portB, base } = await swarm(t, 'eng-pex-priv-', 1 << 20, true)
  const seen: TorrentStats[] = []
  const c = runEngine(t, { ...base })
  const cid = await c.create(bytes, join(tmp.path, 'c'), [`127.0.0.1:${portB}`])
  await c.waitFor(cid, 'C complete', (s) => {
    seen.push(s)
    return s.activity === 'seeding'
  }, 40_000)
  assert.equal(await firstDifference(file, join(tmp.path, 'c', 'payload.bin')), undefined)
  assert.ok(seen.every((s) => (s.peerSources?.pex ?? 0) === 0), 'a PEX peer on a private torrent')
  const by = c.handles.get(cid)!.contributed()
  assert.deepEqual(Object.keys(by), [`127.0.0.1:${portB}`])
  assert.ok(!(`127.0.0.1:${portA}` in by))
})

test('pex: no datagram of this file left 127.0.0.1', () => {
  assert.ok(udp.hosts().every((h) => h === '127.0.0.1'), JSON.stringify(udp.hosts()))
})
