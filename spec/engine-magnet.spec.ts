/**
 * Magnet links in the engine (BEP 9 wired in): a torrent created from a
 * magnet fetches its info dictionary from peers, then downloads as a
 * .torrent torrent does. All on 127.0.0.1, no tracker, no DHT.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { utMetadata } from '../lib/engine/discovery/index.ts'
import {
  closeTorrent,
  createNewTorrent,
  isTorrentStatusUpdate,
  type EngineFeedback,
  type TorrentStats
} from '../lib/messages.ts'
import { parseMetainfo } from '../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../lib/engine/contracts.ts'
import { runEngine } from './support/engine.ts'
import { makeTempDir } from './support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from './support/peers/data.ts'
import { mktorrent } from './support/peers/mktorrent.ts'
import { freePort } from './support/peers/ports.ts'
import { pollUntil } from './support/peers/wait.ts'
import { resources, settleTo } from './support/resources.ts'

type T = { after(fn: () => unknown): void }

/** Random files and their .torrent; 32 KiB pieces, so `totalBytes` sets the info dictionary's size. */
const dataSet = async (t: T, totalBytes: number) => {
  const tmp = await makeTempDir('eng-magnet-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes, fileCount: 3 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  return { tmp, tree, made, meta: parsed.value }
}

const magnetOf = (meta: Metainfo, peers: readonly string[], dn = true): string =>
  `magnet:?xt=urn:btih:${meta.infoHash}${dn ? `&dn=${encodeURIComponent(meta.name)}` : ''}` +
  peers.map((p) => `&x.pe=${encodeURIComponent(p)}`).join('')

/** A seeding engine on a known port. */
const seeder = async (t: T, made: { bytes: Uint8Array }, folder: string, port?: number) => {
  const p = port ?? (await freePort())
  const engine = runEngine(t, { port: p, host: '127.0.0.1' })
  const id = await engine.create(made.bytes, folder)
  await engine.waitSeeding(id, 20_000)
  return { engine, id, peer: `127.0.0.1:${p}` }
}

/** Distinct successive activities of `id` in the feedback so far. */
const activities = (events: readonly EngineFeedback[], id: string): string[] => {
  const out: string[] = []
  for (const e of events) {
    if (!isTorrentStatusUpdate(e) || e.torrentid !== id) continue
    const a = e.statsdictionary.activity
    if (out.at(-1) !== a) out.push(a)
  }
  return out
}

/** The next creation reply after the `before`th. */
const nextReply = (events: readonly EngineFeedback[], before: number) =>
  pollUntil(() => events.filter((e) => e.type !== 'TorrentStatusUpdate')[before], { timeoutMs: 10_000, what: 'creation reply' })

const replies = (events: readonly EngineFeedback[]) => events.filter((e) => e.type !== 'TorrentStatusUpdate').length

/**
 * A peer that speaks BitTorrent and serves ut_metadata of the right size but
 * the wrong bytes. Counts connections and whether we closed them.
 */
const liar = async (t: T, meta: Metainfo) => {
  const fake = Uint8Array.from(meta.infoBytes)
  for (let i = 0; i < fake.length; i += 997) fake[i] = fake[i]! ^ 0xff
  const sockets: Socket[] = []
  let served = 0
  let closedByPeer = 0
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    socket.on('close', () => closedByPeer++)
    const wire = new Wire('tcpIncoming')
    const ext = utMetadata({ info: fake })
    wire.use(ext as never)
    socket.pipe(wire).pipe(socket)
    wire.on('handshake', (ih: string) => wire.handshake(ih, randomBytes(20)))
    wire.on('extended', (name: string) => { if (name === 'ut_metadata') served++ })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { for (const s of sockets) s.destroy(); server.close() })
  return {
    peer: `127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => sockets.length,
    requests: () => served,
    closed: () => closedByPeer
  }
}

test('a magnet whose only peer hint is a seeding engine: metadata, then data, files identical', { timeout: 60_000 }, async (t) => {
  // 28 MiB in 32 KiB pieces: 896 piece hashes, an info dictionary of two metadata pieces.
  const { tmp, tree, made, meta } = await dataSet(t, 28 << 20)
  assert.ok(meta.infoBytes.length > 16384, `info dictionary is ${meta.infoBytes.length} bytes`)
  const seed = await seeder(t, made, dirname(tree.root))

  const leecher = runEngine(t)
  const out = join(tmp.path, 'out')
  const before = replies(leecher.out.events)
  const id = await leecher.create(magnetOf(meta, [seed.peer]), out)
  const created = await nextReply(leecher.out.events, before)
  assert.deepEqual(created, { type: 'NewTorrentCreated', torrentid: id, savefolder: out, infohash: meta.infoHash, name: 'payload' })
  const done = await leecher.waitSeeding(id, 40_000)
  assert.equal(done.piecesTotal, meta.pieceCount)
  assert.equal(done.piecesDone, meta.pieceCount)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  const seen = activities(leecher.out.events, id)
  assert.equal(seen[0], 'fetching metadata', seen.join(' > '))
  assert.ok(seen.indexOf('downloading') > 0, seen.join(' > '))
  const first = leecher.out.events.find((e) => isTorrentStatusUpdate(e) && e.torrentid === id)
  const s = (first as { statsdictionary: TorrentStats }).statsdictionary
  assert.equal(s.piecesTotal, 0)
  assert.equal(s.fractionDone, 0)
  assert.equal(s.numPeers, 1, 'the metadata peer is counted')
  assert.equal(s.peerSources?.manual, 1)
  // The seeder served the data: it was dialled again by the torrent proper after the metadata phase.
  assert.ok((leecher.handles.get(id)!.contributed()[seed.peer] ?? 0) > 0)
})

test('a lying ut_metadata peer and an honest seeder: the liar is dropped, the download completes', { timeout: 60_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 2 << 20)
  const bad = await liar(t, meta)
  const honestPort = await freePort()
  const leecher = runEngine(t)
  const out = join(tmp.path, 'out')
  const id = await leecher.create(magnetOf(meta, [bad.peer, `127.0.0.1:${honestPort}`]), out)
  // The honest seeder starts only once the liar was asked, so the liar's copy is tried first.
  await pollUntil(() => bad.requests() > 0, { timeoutMs: 10_000, what: 'a metadata request to the liar' })
  await pollUntil(() => bad.closed() > 0, { timeoutMs: 10_000, what: 'the liar dropped' })
  assert.equal(leecher.latest(id)?.activity, 'fetching metadata')
  await seeder(t, made, dirname(tree.root), honestPort)
  await leecher.waitSeeding(id, 40_000)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  assert.equal(bad.connections(), 1, 'the liar is never dialled again, not even by the torrent proper')
})

test('TorrentAlreadyDownloading across a .torrent and a magnet, both ways', { timeout: 30_000 }, async (t) => {
  const a = await dataSet(t, 1 << 20)
  const b = await dataSet(t, 1 << 20)
  const engine = runEngine(t)
  const ev = engine.out.events
  // .torrent first, then its magnet.
  const id1 = await engine.create(a.made.bytes, dirname(a.tree.root))
  let n = replies(ev)
  engine.commands.event(createNewTorrent(magnetOf(a.meta, []), { savefolder: join(a.tmp.path, 'other') }))
  assert.deepEqual(await nextReply(ev, n), { type: 'TorrentAlreadyDownloading', torrentid: id1 })
  // Magnet first (no peers: it stays fetching metadata), then its .torrent, then the magnet again (base32 form).
  const id2 = await engine.create(magnetOf(b.meta, [], false), join(b.tmp.path, 'out'))
  n = replies(ev)
  engine.commands.event(createNewTorrent(b.made.bytes, { savefolder: join(b.tmp.path, 'elsewhere') }))
  assert.deepEqual(await nextReply(ev, n), { type: 'TorrentAlreadyDownloading', torrentid: id2 })
  const base32 = base32Of(b.meta.infoHash)
  engine.commands.event(createNewTorrent(`magnet:?xt=urn:btih:${base32}`))
  assert.deepEqual(await nextReply(ev, n + 1), { type: 'TorrentAlreadyDownloading', torrentid: id2 })
  const s = await engine.waitFor(id2, 'a status', () => true, 5000)
  assert.equal(s.activity, 'fetching metadata')
  assert.equal(s.numPeers, 0)
})

test('bad magnets are refused with a reason', { timeout: 30_000 }, async (t) => {
  const engine = runEngine(t)
  const ev = engine.out.events
  const cases: Array<[string, RegExp]> = [
    ['magnet:?xt=urn:btih:1234', /bad magnet link: .*info hash must be 40 hex or 32 base32/],
    ['http://example.com/x.torrent', /bad magnet link: .*not a magnet URI/],
    ['magnet:?dn=nothing', /bad magnet link: .*no BitTorrent info hash/],
    [`magnet:?xt=urn:btih:${'a'.repeat(40)}&x.pe=nohost`, /bad magnet link: .*peer hint/]
  ]
  for (const [uri, reason] of cases) {
    const n = replies(ev)
    engine.commands.event(createNewTorrent(uri))
    const r = await nextReply(ev, n)
    assert.equal(r.type, 'TorrentStartFail', uri)
    assert.match((r as { reason: string }).reason, reason)
  }
})

test('CloseTorrent during the metadata fetch releases its sockets and timers', { timeout: 30_000 }, async (t) => {
  const { tmp, meta } = await dataSet(t, 1 << 20)
  // A peer that handshakes and never has the metadata, and one that accepts and says nothing.
  const sockets: Socket[] = []
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    socket.on('end', () => socket.destroy())
    const wire = new Wire('tcpIncoming')
    socket.pipe(wire).pipe(socket)
    wire.on('handshake', (ih: string) => wire.handshake(ih, randomBytes(20)))
  })
  const mute = createServer((socket) => { sockets.push(socket); socket.on('error', () => {}); socket.on('end', () => socket.destroy()); socket.resume() })
  for (const s of [server, mute]) { s.listen(0, '127.0.0.1'); await once(s, 'listening') }
  t.after(() => { for (const s of sockets) s.destroy(); server.close(); mute.close() })
  const addr = (s: typeof server) => `127.0.0.1:${(s.address() as { port: number }).port}`

  const engine = runEngine(t)
  await new Promise((resolve) => setTimeout(resolve, 200)) // the listener is up
  const base = resources()
  const id = await engine.create(magnetOf(meta, [addr(server), addr(mute)]), join(tmp.path, 'out'))
  await engine.waitFor(id, 'one metadata peer', (s) => s.activity === 'fetching metadata' && s.numPeers === 1, 10_000)
  assert.equal(sockets.length, 2)
  engine.commands.event(closeTorrent(id))
  await pollUntil(() => engine.latest(id)?.activity === 'shut down', { timeoutMs: 10_000, what: 'shut down' })
  assert.deepEqual(await settleTo(base, 5000), [])
})

function base32Of (hex: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const byte of Buffer.from(hex, 'hex')) bits += byte.toString(2).padStart(8, '0')
  let out = ''
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)]
  return out
}
