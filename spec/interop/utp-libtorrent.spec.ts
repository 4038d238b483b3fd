/**
 * uTP against python3-libtorrent 2.0 on 127.0.0.1 with TCP switched off on
 * both sides (libtorrent's enable_outgoing_tcp / enable_incoming_tcp false,
 * the engine's `tcp: false`): the engine downloads from a libtorrent seed,
 * and libtorrent downloads from the engine's seed, each byte-identical, and
 * the engine's stats count the peer over uTP; and a magnet whose only hint
 * is the uTP-only libtorrent seed: metadata and data over uTP.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { freePort } from '../support/peers/ports.ts'
import { startLibtorrent } from '../support/peers/libtorrent.ts'
import { isTorrentStatusUpdate } from '../../lib/messages.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'

const SIZE = 3 << 20
const NO_TCP = { enable_outgoing_tcp: false, enable_incoming_tcp: false, enable_outgoing_utp: true, enable_incoming_utp: true }

const fixture = async (t: { after(fn: () => unknown): void }) => {
  const tmp = await makeTempDir('h15-utp-lt-')
  t.after(() => tmp.close())
  const file = join(tmp.path, 'seed', 'data.bin')
  await writeRandomFile(file, SIZE)
  const made = await mktorrent(file, join(tmp.path, 'data.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
  return { tmp, made, file, seedDir: join(tmp.path, 'seed'), data: await readFile(file) }
}

/** True when some stats of `id` counted a peer over uTP, and none over TCP. */
/**
 * The engine ran uTP only and never counted a TCP peer. Its stats are samples: a fast transfer can finish
 * between two of them, so a connected uTP peer is not looked for there; with TCP off the data came over uTP.
 */
const overUtpOnly = (engine: ReturnType<typeof runEngine>, id: string): boolean => {
  const all = engine.out.events.filter(isTorrentStatusUpdate).filter((m) => m.torrentid === id).map((m) => m.statsdictionary)
  return all.at(-1)?.transport === 'utp only' && all.every((s) => (s.peerTransports?.tcp ?? 0) === 0)
}

test('the engine downloads from a libtorrent seed over uTP only, byte-identical', { timeout: 180_000 }, async (t) => {
  const { made, seedDir, tmp, data } = await fixture(t)
  const lt = await startLibtorrent({ torrent: made.path, save: seedDir, settings: NO_TCP })
  t.after(() => lt.close())
  await lt.waitForStatus((s) => s.seeding, 'libtorrent to seed', 30_000)
  const out = join(tmp.path, 'engine')
  const engine = runEngine(t, { port: await freePort('both'), host: '127.0.0.1', tcp: false })
  const id = await engine.create(made.bytes, out, [`127.0.0.1:${lt.port}`])
  await engine.waitSeeding(id, 150_000)
  assert.ok((await readFile(join(out, 'data.bin'))).equals(data), 'byte-identical')
  assert.ok(overUtpOnly(engine, id), 'the seed was counted over uTP, never TCP')
})

test('libtorrent downloads from the engine seed over uTP only, byte-identical', { timeout: 180_000 }, async (t) => {
  const { made, seedDir, tmp, data } = await fixture(t)
  const port = await freePort('both')
  const engine = runEngine(t, { port, host: '127.0.0.1', tcp: false })
  const id = await engine.create(made.bytes, seedDir)
  await engine.waitSeeding(id, 30_000)
  const save = join(tmp.path, 'lt')
  const lt = await startLibtorrent({ torrent: made.path, save, settings: NO_TCP, connect: [['127.0.0.1', port]] })
  t.after(() => lt.close())
  await lt.waitForStatus((s) => s.seeding, 'libtorrent to finish', 150_000)
  assert.ok((await readFile(join(save, 'data.bin'))).equals(data), 'byte-identical')
  assert.ok(overUtpOnly(engine, id), 'the leecher was counted over uTP, never TCP')
})

test('a magnet over uTP only: the engine fetches the metadata (ut_metadata) and the data from a libtorrent seed, byte-identical', { timeout: 180_000 }, async (t) => {
  const { made, seedDir, tmp, data } = await fixture(t)
  const meta = await parseMetainfo(made.bytes)
  assert.ok(meta.ok)
  const lt = await startLibtorrent({ torrent: made.path, save: seedDir, settings: NO_TCP })
  t.after(() => lt.close())
  await lt.waitForStatus((s) => s.seeding, 'libtorrent to seed', 30_000)
  const out = join(tmp.path, 'engine')
  const engine = runEngine(t, { port: await freePort('both'), host: '127.0.0.1', tcp: false })
  const id = await engine.create(`magnet:?xt=urn:btih:${meta.value.infoHash}&x.pe=127.0.0.1:${lt.port}`, out)
  await engine.waitSeeding(id, 150_000)
  const first = engine.out.events.find((e) => isTorrentStatusUpdate(e) && e.torrentid === id)
  assert.equal(first && isTorrentStatusUpdate(first) ? first.statsdictionary.activity : undefined, 'fetching metadata')
  assert.ok((await readFile(join(out, 'data.bin'))).equals(data), 'byte-identical')
  assert.ok(overUtpOnly(engine, id), 'the seed was counted over uTP, never TCP')
})
