// BEP 9 both ways with qbittorrent-nox (libtorrent 2.0.8) on 127.0.0.1.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, createServer } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { utMetadata, utMetadataOf } from '../../lib/engine/wire/ut-metadata.ts'
import { createMetadataFetcher } from '../../lib/engine/torrent/metadata-fetcher.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startQbittorrent } from '../support/peers/qbittorrent.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { makeInfo, within } from '../support/discovery.ts'

test('ut_metadata: our fetcher gets the info dict from a qbittorrent-nox seeder', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('tp-bep9-qb-')
  t.after(() => tmp.close())
  const seedDir = join(tmp.path, 'seed')
  await writeRandomFile(join(seedDir, 'payload.bin'), 40 << 20)
  const torrent = await mktorrent(join(seedDir, 'payload.bin'), join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:1/announce'], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(torrent.bytes)
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  const { infoHash, infoBytes } = parsed.value

  const qb = await startQbittorrent()
  t.after(() => qb.close())
  await qb.addTorrent(torrent.bytes, infoHash, { savePath: seedDir, skipChecking: true })
  await qb.waitComplete(infoHash, 20_000)

  const socket = connect(qb.peerPort, '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  const wire = new Wire('tcpOutgoing')
  t.after(() => { wire.destroy(); socket.destroy() })
  wire.use(utMetadata({ info: null }))
  socket.pipe(wire).pipe(socket)
  const extended = once(wire, 'extended')
  wire.handshake(infoHash, Buffer.concat([Buffer.from('-TP0001-'), randomBytes(12)]))
  await within(extended, 10_000, 'extended handshake from qbittorrent')
  assert.equal(utMetadataOf(wire)?.peerMetadataSize, infoBytes.length)

  const fetcher = createMetadataFetcher({ infoHash })
  t.after(() => fetcher.destroy())
  fetcher.add(wire)
  const got = await within(fetcher.metadata, 20_000, 'metadata from qbittorrent')
  assert.deepEqual(Buffer.from(got), Buffer.from(infoBytes))
})

test('ut_metadata: qbittorrent-nox given a magnet and our address gets the info dict from us', { timeout: 60_000 }, async (t) => {
  const { info, infoHash } = makeInfo(2000, 'served-by-us.bin')
  const wires: Wire[] = []
  const server = createServer(socket => {
    const wire = new Wire('tcpIncoming')
    wires.push(wire)
    wire.use(utMetadata({ info }))
    socket.on('error', () => {})
    socket.pipe(wire).pipe(socket)
    wire.on('handshake', (ih: string) => { if (ih === infoHash) wire.handshake(ih, randomBytes(20)); else wire.destroy() })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { for (const w of wires) w.destroy(); server.close() })
  const ours = `127.0.0.1:${(server.address() as { port: number }).port}`

  // libtorrent dials uTP first and, with a magnet, kept retrying uTP to our TCP-only port: TCP only here.
  const qb = await startQbittorrent({ bitTorrentSettings: ['Session\\BTProtocol=TCP'] })
  t.after(() => qb.close())
  const out = await makeTempDir('tp-bep9-qb-out-')
  t.after(() => out.close())
  await qb.api('torrents/add', { urls: `magnet:?xt=urn:btih:${infoHash}&x.pe=${ours}`, savepath: out.path })
  // Our address is in the magnet (x.pe) and handed over again until the metadata is in.
  const done = await pollUntil(async () => {
    const i = await qb.info(infoHash)
    if (i === undefined || i.state === 'metaDL' || i.size <= 0) {
      if (i !== undefined) await qb.addPeers(infoHash, [ours]).catch(() => {})
      return undefined
    }
    return i
  }, { timeoutMs: 30_000, intervalMs: 250, what: 'qbittorrent metadata from us' })
  assert.equal(done.name, 'served-by-us.bin')
  assert.equal(done.size, 2000 * 16384)
  assert.ok(wires.some(w => (utMetadataOf(w)?.served ?? 0) >= 3), 'all pieces were served by us')
})
