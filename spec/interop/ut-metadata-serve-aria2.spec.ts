// BEP 9, serving side, against a real client: aria2c given only a magnet (tracker on
// 127.0.0.1) finds us through the tracker and gets the info dict from our ut_metadata.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { utMetadata, utMetadataOf } from '../../lib/engine/wire/ut-metadata.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startAria2Leecher } from '../support/peers/aria2.ts'
import { makeInfo } from '../support/discovery.ts'

test('ut_metadata: aria2c with only a magnet gets the info dict we serve', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('tp-bep9-serve-')
  t.after(() => tmp.close())
  const { info, infoHash } = makeInfo(2000) // two-and-a-bit metadata pieces
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())

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
  const port = (server.address() as { port: number }).port

  // Register ourselves as a seeder with a plain HTTP announce.
  const pct = (b: Uint8Array): string => [...b].map(x => '%' + x.toString(16).padStart(2, '0')).join('')
  const url = `${tracker.httpAnnounce}?info_hash=${pct(Buffer.from(infoHash, 'hex'))}&peer_id=${pct(randomBytes(20))}` +
    `&port=${port}&uploaded=0&downloaded=0&left=0&event=started&compact=1`
  const res = await fetch(url)
  assert.equal(res.status, 200)
  await res.arrayBuffer()
  await tracker.waitForSeeders(infoHash, 1, 5000)

  const out = join(tmp.path, 'out')
  await mkdir(out) // aria2c does not create the folder it saves metadata into
  const magnet = `magnet:?xt=urn:btih:${infoHash}&tr=${encodeURIComponent(tracker.httpAnnounce)}`
  const leecher = await startAria2Leecher({
    torrentPath: magnet,
    dir: out,
    extraArgs: ['--bt-metadata-only=true', '--bt-save-metadata=true']
  })
  t.after(() => leecher.close())
  await leecher.waitDone(30_000)

  const saved = await parseMetainfo(await readFile(join(out, `${infoHash}.torrent`)))
  assert.ok(saved.ok, saved.ok ? '' : saved.reason)
  assert.equal(saved.value.infoHash, infoHash)
  assert.deepEqual(Buffer.from(saved.value.infoBytes), Buffer.from(info))
  assert.ok(wires.some(w => (utMetadataOf(w)?.served ?? 0) >= 3), 'all pieces were served by us')
})
