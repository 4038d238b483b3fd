/**
 * BEP 52 hash requests against a real engine seeding a v2-only torrent, from
 * a raw peer on 127.0.0.1: the engine's handshake sets the v2 bit; a piece
 * layer range and a piece's leaves come back proved up to the file's root
 * (they verify); a range outside the tree and an unknown root get a hash
 * reject, and the connection stays; a hash request of the wrong length
 * closes the connection.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { Buffer } from 'node:buffer'
import { join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { newCappedWire } from '../../lib/engine/wire/capped-wire.ts'
import { HashExchange } from '../../lib/engine/wire/hash-exchange.ts'
import { pushRaw } from '../../lib/engine/wire/protocol-internals.ts'
import { pieceLayerRequests, proofProblem, treeHeight } from '../../lib/engine/metainfo/merkle-proof.ts'
import { leafRequest, leavesProblem } from '../../lib/engine/download/v2-blame.ts'
import { splitHashes } from '../../lib/engine/metainfo/merkle.ts'
import { runEngine } from '../support/engine.ts'
import { freePort } from '../support/peers/ports.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree } from '../support/peers/data.ts'

test('a v2 seeder answers hash requests with hashes that verify, rejects what is out of range, and closes on a malformed one', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('t20-hashreq-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { sizes: [40 * 32768 + 5, 1000] })
  const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:1/announce', pieceLength: 32768, version: 'v2' })
  const parsed = await parseMetainfo(bytes, { acceptV2Only: true })
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  const meta = parsed.value
  const port = await freePort()
  const engine = runEngine(t, { port, utp: false, outgoingEncryption: 'disabled' })
  const id = await engine.create(bytes, join(tmp.path, 'seed'))
  await engine.waitSeeding(id, 60_000)

  const socket = net.connect({ host: '127.0.0.1', port })
  const wire = newCappedWire('tcpOutgoing')
  socket.pipe(wire).pipe(socket)
  t.after(() => socket.destroy())
  await once(socket, 'connect')
  const handshaken = once(wire, 'handshake')
  wire.handshake(meta.infoHash, randomBytes(20).toString('hex'), { v2: true })
  await handshaken
  assert.equal(wire.peerV2, true, 'the engine sets the v2 bit for a v2-only torrent')
  const x = new HashExchange(wire, { v2Swarm: true })

  const file = meta.v2!.files.find((f) => f.length > meta.pieceLength)!
  const root = file.root!
  const trustRoot = (layer: number, index: number) => layer === treeHeight(file.length) && index === 0 ? root : null
  const [request] = pieceLayerRequests(root, file.length, meta.pieceLength)
  const a = await x.request(request!)
  assert.ok(a.ok, 'the piece layer range is answered')
  assert.equal(proofProblem(request!, a.nodes, a.uncles, file.length, trustRoot), null)
  const layer = meta.v2!.pieceLayers.get(Buffer.from(root).toString('hex'))!
  assert.deepEqual(a.nodes.slice(0, file.pieceCount), splitHashes(layer))

  // The leaves of a piece, from the piece's bytes on disk.
  const leaves = leafRequest(file, file.firstPiece + 3, meta.pieceLength)!
  const l = await x.request(leaves)
  assert.ok(l.ok, 'the leaves of a piece are answered')
  assert.equal(leavesProblem(leaves, l.nodes, l.uncles, file, splitHashes(layer)[3]!), null)

  // Out of range, unknown root: hash reject, and the connection stays.
  assert.deepEqual(await x.request({ root, base: treeHeight(file.length), index: 0, length: 1, proofLayers: 0 }), { ok: false, reason: 'rejected' })
  assert.deepEqual(await x.request({ root, base: 1, index: 64, length: 64, proofLayers: 0 }), { ok: false, reason: 'rejected' })
  assert.deepEqual(await x.request({ root: new Uint8Array(32).fill(7), base: 1, index: 0, length: 2, proofLayers: 0 }), { ok: false, reason: 'rejected' })
  assert.equal(socket.destroyed, false)

  // A hash request of the wrong length: the engine closes the connection.
  const closed = once(socket, 'close')
  const bad = new Uint8Array(4 + 30)
  bad[3] = 30
  bad[4] = 21
  pushRaw(wire, bad)
  await closed
})
