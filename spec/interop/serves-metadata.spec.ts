/**
 * Every peer wire of a running torrent serves its info dictionary (BEP 9) and
 * carries our listen port (`p`) in the extended handshake: checked on a wire
 * we dial into the engine, and on a wire the engine dials out to us.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { createMetadataFetcher } from '../../lib/engine/torrent/metadata-fetcher.ts'
import { utMetadata } from '../../lib/engine/wire/ut-metadata.ts'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { freePort } from '../support/peers/ports.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { within } from '../support/discovery.ts'

const seedingEngine = async (t: { after(fn: () => unknown): void }) => {
  const tmp = await makeTempDir('eng-serve-md-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 2 << 20, fileCount: 3 })
  // 32 KiB pieces over 2 MiB: 64 piece hashes, one metadata piece.
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  return { tmp, tree, made, meta: parsed.value }
}

/** Fetch the info dictionary over `wire` (already piped) and return it with the peer's extended handshake. */
const fetchOver = async (wire: Wire, infoHash: string, handshakeFirst: boolean) => {
  wire.use(utMetadata({ info: null }) as never)
  const fetcher = createMetadataFetcher({ infoHash })
  const extended = once(wire, 'extended')
  if (handshakeFirst) wire.handshake(infoHash, randomBytes(20))
  else wire.once('handshake', () => wire.handshake(infoHash, randomBytes(20)))
  await within(extended, 10_000, 'extended handshake')
  fetcher.add(wire)
  try {
    return { info: await within(fetcher.metadata, 10_000, 'metadata'), handshake: wire.peerExtendedHandshake }
  } finally {
    fetcher.destroy()
  }
}

test('a wire dialled into the engine gets its info dictionary and its listen port', { timeout: 60_000 }, async (t) => {
  const { tree, made, meta } = await seedingEngine(t)
  const port = await freePort()
  const engine = runEngine(t, { port, host: '127.0.0.1' })
  const id = await engine.create(made.bytes, dirname(tree.root))
  await engine.waitSeeding(id, 20_000)

  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  t.after(() => socket.destroy())
  await once(socket, 'connect')
  const wire = new Wire('tcpOutgoing')
  socket.pipe(wire).pipe(socket)
  const got = await fetchOver(wire, meta.infoHash, true)
  assert.deepEqual(Buffer.from(got.info), Buffer.from(meta.infoBytes))
  assert.equal(got.handshake['p'], port)
  assert.equal(got.handshake['metadata_size'], meta.infoBytes.length)
})

test('a wire the engine dials out gets its info dictionary and its listen port', { timeout: 60_000 }, async (t) => {
  const { tree, made, meta } = await seedingEngine(t)
  const sockets: Socket[] = []
  const server = createServer((s) => { sockets.push(s); s.on('error', () => {}) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { for (const s of sockets) s.destroy(); server.close() })
  const accepted = once(server, 'connection') as Promise<[Socket]>

  const port = await freePort()
  // This side is a plain bittorrent-protocol wire: the engine is to open in plaintext, not with MSE first.
  const engine = runEngine(t, { port, host: '127.0.0.1', outgoingEncryption: 'disabled' })
  await engine.create(made.bytes, dirname(tree.root), [`127.0.0.1:${(server.address() as { port: number }).port}`])
  const [socket] = await within(accepted, 20_000, 'the engine dials us')
  const wire = new Wire('tcpIncoming')
  socket.pipe(wire).pipe(socket)
  const got = await fetchOver(wire, meta.infoHash, false)
  assert.deepEqual(Buffer.from(got.info), Buffer.from(meta.infoBytes))
  assert.equal(got.handshake['p'], port)
})
