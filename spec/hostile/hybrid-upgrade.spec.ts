/**
 * BEP 52's upgrade rules on a real engine over 127.0.0.1, against raw peers
 * that choose what their handshakes say. Seeding a hybrid: a peer that offers
 * the upgrade (v1 hash, v2 bit) is answered with the v2 key and its leaf hash
 * requests are served, proved up to the piece hash; a v1-only peer is answered
 * with the v1 hash (and the offer) and closed when it sends a hash request, as
 * libtorrent does; a peer naming the v2 key is answered with it. Dialling for a
 * hybrid: the engine offers the upgrade, and the hash a peer answers with
 * decides the connection's version. A handshake with a v2 hash of a torrent the
 * engine knows only as v1 is refused.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import { Buffer } from 'node:buffer'
import { join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../lib/engine/contracts.ts'
import { newCappedWire, type CappedWire } from '../../lib/engine/wire/capped-wire.ts'
import { HashExchange } from '../../lib/engine/wire/hash-exchange.ts'
import { encodeHashRequest } from '../../lib/engine/wire/hash-messages.ts'
import { pushRaw } from '../../lib/engine/wire/protocol-internals.ts'
import { leafRequest, leavesProblem } from '../../lib/engine/download/v2-blame.ts'
import { splitHashes } from '../../lib/engine/metainfo/merkle.ts'
import { runEngine } from '../support/engine.ts'
import { freePort } from '../support/peers/ports.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree } from '../support/peers/data.ts'

const PIECE = 32768

async function made (dir: string, version: 'v1' | 'hybrid'): Promise<{ bytes: Uint8Array, meta: Metainfo }> {
  const tree = await makeRandomTree(join(dir, 'payload'), { sizes: [20 * PIECE + 5, 1000] })
  const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:1/announce', pieceLength: PIECE, version })
  const parsed = await parseMetainfo(bytes)
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  return { bytes, meta: parsed.value }
}

/** A raw peer dialling the engine: resolves with the info hash the engine answered with (null: closed unanswered). */
async function dial (port: number, infoHash: string, v2: boolean): Promise<{ socket: net.Socket, wire: CappedWire, answer: string | null }> {
  const socket = net.connect({ host: '127.0.0.1', port })
  socket.on('error', () => {})
  const wire = newCappedWire('tcpOutgoing')
  socket.pipe(wire).pipe(socket)
  await once(socket, 'connect')
  const answered = new Promise<string | null>((resolve) => {
    wire.once('handshake', (ih: string) => resolve(ih))
    socket.once('close', () => resolve(null))
  })
  wire.handshake(infoHash, randomBytes(20).toString('hex'), { v2 })
  return { socket, wire, answer: await answered }
}

test('seeding a hybrid: the upgrade offer is answered with the v2 key and served; a v1 peer stays v1 and may not ask for hashes', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('h20a-upgrade-')
  t.after(() => tmp.close())
  const { bytes, meta } = await made(join(tmp.path, 'seed'), 'hybrid')
  const key = meta.v2!.infoHash.slice(0, 40)
  const port = await freePort()
  const engine = runEngine(t, { port, utp: false, outgoingEncryption: 'disabled' })
  const id = await engine.create(bytes, join(tmp.path, 'seed'))
  await engine.waitSeeding(id, 60_000)

  const upgraded = await dial(port, meta.infoHash, true)
  t.after(() => upgraded.socket.destroy())
  assert.equal(upgraded.answer, key, 'the v1 hash with the v2 bit is answered with the v2 key')
  upgraded.wire.speaksV2 = true
  upgraded.wire.interested()
  // The leaves of a piece, proved up to the piece hash of the v2 half.
  const file = meta.v2!.files.find((f) => f.length > meta.pieceLength)!
  const layer = splitHashes(meta.v2!.pieceLayers.get(Buffer.from(file.root!).toString('hex'))!)
  const request = leafRequest(file, file.firstPiece + 2, meta.pieceLength)!
  const a = await new HashExchange(upgraded.wire).request(request)
  assert.ok(a.ok, 'an upgraded connection is served hashes')
  assert.equal(leavesProblem(request, a.nodes, a.uncles, file, layer[2]!), null)

  const v1 = await dial(port, meta.infoHash, false)
  t.after(() => v1.socket.destroy())
  assert.equal(v1.answer, meta.infoHash, 'a v1 peer is answered with the v1 hash')
  assert.equal(v1.wire.peerV2, true, 'with the v2 bit: the offer to upgrade')
  v1.wire.interested()

  const byKey = await dial(port, key, false)
  t.after(() => byKey.socket.destroy())
  assert.equal(byKey.answer, key, 'a handshake naming the v2 key is answered with it')
  byKey.wire.interested()
  await engine.waitFor(id, 'two v2 peers and one v1 peer', (s) => s.peerVersions?.v2 === 2 && s.peerVersions.v1 === 1, 30_000)
  const versions = engine.handles.get(id)!.peers().map((p) => p.version).sort()
  assert.deepEqual(versions, ['v1', 'v2', 'v2'])

  // A hash request on the v1 connection: closed, as libtorrent closes it.
  const closed = once(v1.socket, 'close')
  pushRaw(v1.wire, encodeHashRequest(request))
  await closed
  assert.equal(upgraded.socket.destroyed, false)
})

test('dialling for a hybrid: the engine offers the upgrade; the hash each peer answers with decides the version', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('h20a-dial-')
  t.after(() => tmp.close())
  const { bytes, meta } = await made(join(tmp.path, 'src'), 'hybrid')
  const key = meta.v2!.infoHash.slice(0, 40)
  const seen: Array<{ infoHash: string, bit: boolean }> = []
  const sockets = new Set<net.Socket>()
  const listen = async (answer: string): Promise<number> => {
    const server = net.createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
      const wire = newCappedWire('tcpIncoming')
      socket.pipe(wire).pipe(socket)
      wire.once('handshake', (ih: string) => {
        seen.push({ infoHash: ih, bit: wire.peerV2 })
        wire.handshake(answer, randomBytes(20).toString('hex'))
        wire.interested()
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => new Promise((resolve) => {
      server.close(resolve)
      for (const s of sockets) s.destroy()
    }))
    return (server.address() as net.AddressInfo).port
  }
  const v2Port = await listen(key)
  const v1Port = await listen(meta.infoHash)
  const engine = runEngine(t, { port: await freePort(), utp: false, outgoingEncryption: 'disabled' })
  const id = await engine.create(bytes, join(tmp.path, 'out'), [`127.0.0.1:${v2Port}`, `127.0.0.1:${v1Port}`])
  await engine.waitFor(id, 'one v2 and one v1 connection', (s) => s.peerVersions?.v2 === 1 && s.peerVersions.v1 === 1, 30_000)
  assert.deepEqual(seen.slice(0, 2), [{ infoHash: meta.infoHash, bit: true }, { infoHash: meta.infoHash, bit: true }])
  const byPort = new Map(engine.handles.get(id)!.peers().map((p) => [Number(p.address.split(':').at(-1)), p.version]))
  assert.equal(byPort.get(v2Port), 'v2')
  assert.equal(byPort.get(v1Port), 'v1')
})

test('a handshake naming the v2 hash of a torrent the engine knows only as v1 is refused', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('h20a-v1only-')
  t.after(() => tmp.close())
  const { bytes, meta } = await made(join(tmp.path, 'seed'), 'v1')
  const port = await freePort()
  const engine = runEngine(t, { port, utp: false, outgoingEncryption: 'disabled' })
  const id = await engine.create(bytes, join(tmp.path, 'seed'))
  await engine.waitSeeding(id, 60_000)
  const v2OfInfo = createHash('sha256').update(meta.infoBytes).digest('hex').slice(0, 40)
  for (const bit of [true, false]) {
    const refused = await dial(port, v2OfInfo, bit)
    assert.equal(refused.answer, null, 'closed without an answer')
  }
  // Its own hash is still answered, and v1 whatever bit the peer set.
  const ok = await dial(port, meta.infoHash, true)
  t.after(() => ok.socket.destroy())
  assert.equal(ok.answer, meta.infoHash)
  assert.equal(ok.wire.peerV2, false, 'a v1 torrent never offers v2')
  ok.wire.interested()
  await engine.waitFor(id, 'one v1 peer', (s) => s.peerVersions?.v1 === 1 && s.peerVersions.v2 === 0, 30_000)
})
