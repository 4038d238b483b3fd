// BEP 9 against a real client: aria2c seeds a torrent on 127.0.0.1 and our
// MetadataFetcher, on a plain bittorrent-protocol wire over TCP, gets the info dict from it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { utMetadata, utMetadataOf } from '../../lib/engine/wire/ut-metadata.ts'
import { createMetadataFetcher } from '../../lib/engine/torrent/metadata-fetcher.ts'
import { parseMetainfo, metainfoFromInfoBytes } from '../../lib/engine/metainfo/index.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { within } from '../support/discovery.ts'

test('ut_metadata: fetches the info dict from an aria2c seeder over loopback TCP', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('tp-bep9-aria2-')
  t.after(() => tmp.close())
  const payload = join(tmp.path, 'seed', 'payload.bin')
  // 40 MiB in 32 KiB pieces: 1280 hashes, so the info dict spans two 16 KiB metadata pieces.
  await writeRandomFile(payload, 40 << 20)
  // The tracker URL is dead on purpose: the only peer is the one we dial.
  const torrent = await mktorrent(payload, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:1/announce'], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(torrent.bytes)
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  const { infoHash, infoBytes } = parsed.value
  assert.ok(infoBytes.length > 16384, 'more than one metadata piece')

  const seeder = await startAria2Seeder({ torrentPath: torrent.path, dir: join(tmp.path, 'seed') })
  t.after(() => seeder.close())

  const socket = connect(seeder.port, '127.0.0.1')
  await once(socket, 'connect')
  const wire = new Wire('tcpOutgoing')
  t.after(() => { wire.destroy(); socket.destroy() })
  wire.use(utMetadata({ info: null }))
  socket.pipe(wire).pipe(socket)
  const extended = once(wire, 'extended')
  wire.handshake(infoHash, Buffer.concat([Buffer.from('-TP0001-'), randomBytes(12)]))
  await within(extended, 10_000, 'extended handshake from aria2c')
  assert.equal(utMetadataOf(wire)?.peerMetadataSize, infoBytes.length, 'aria2c advertises metadata_size')

  const bad: string[] = []
  const fetcher = createMetadataFetcher({ infoHash, onBadPeer: (_w, reason) => bad.push(reason) })
  t.after(() => fetcher.destroy())
  assert.equal(fetcher.add(wire), true)
  const got = await within(fetcher.metadata, 20_000, 'metadata from aria2c')
  assert.deepEqual(Buffer.from(got), Buffer.from(infoBytes))
  assert.deepEqual(bad, [])
  const meta = await metainfoFromInfoBytes(got, { announce: parsed.value.announce })
  assert.ok(meta.ok, meta.ok ? '' : meta.reason)
  assert.equal(meta.value.infoHash, infoHash)
  assert.equal(meta.value.pieceCount, parsed.value.pieceCount)
})
