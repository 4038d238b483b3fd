/**
 * Magnet links in the engine (BEP 9 wired in): a torrent created from a
 * magnet fetches its info dictionary from peers, then downloads as a
 * .torrent torrent does. All on 127.0.0.1, no tracker, no DHT.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { once } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { utMetadata } from '../../lib/engine/wire/ut-metadata.ts'
import {
  closeTorrent,
  createNewTorrent,
  isTorrentStatusUpdate,
  type EngineFeedback,
  type TorrentStats
} from '../../lib/messages.ts'
import { bdecode, bencode, parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../lib/engine/contracts.ts'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { resources, settleTo } from '../support/resources.ts'
import { startTracker } from '../support/peers/tracker-server.ts'

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
  // Statuses are samples: the first may come before the metadata peer connects, and the metadata may arrive
  // between two samples, so each metadata-phase sample is checked for what must hold whenever it was taken.
  const phase = leecher.out.events
    .filter((e) => isTorrentStatusUpdate(e) && e.torrentid === id)
    .map((e) => (e as { statsdictionary: TorrentStats }).statsdictionary)
    .filter((s) => s.activity === 'fetching metadata')
  assert.ok(phase.length > 0)
  for (const s of phase) {
    assert.equal(s.piecesTotal, 0)
    assert.equal(s.fractionDone, 0)
    assert.ok(s.numPeers <= 1, `${s.numPeers} peers while fetching metadata from one`)
    assert.equal(s.peerSources?.manual ?? 0, s.numPeers, 'a connected metadata peer is counted as a manual one')
  }
  // The seeder served the data: it was dialled again by the torrent proper after the metadata phase.
  assert.ok((leecher.handles.get(id)!.contributed()[seed.peer] ?? 0) > 0)
})

test('a lying ut_metadata peer and an honest seeder: the liar is dropped, the download completes', { timeout: 60_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 2 << 20)
  const bad = await liar(t, meta)
  const honestPort = await freePort()
  // The fake peers speak plain BitTorrent only: a plaintext opening, so each dial is one connection.
  const leecher = runEngine(t, { outgoingEncryption: 'disabled' })
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

  // The fake peers speak plain BitTorrent only: a plaintext opening, so each dial is one connection.
  const engine = runEngine(t, { outgoingEncryption: 'disabled' })
  await new Promise((resolve) => setTimeout(resolve, 200)) // the listener is up
  const base = resources()
  const id = await engine.create(magnetOf(meta, [addr(server), addr(mute)]), join(tmp.path, 'out'))
  await engine.waitFor(id, 'one metadata peer', (s) => s.activity === 'fetching metadata' && s.numPeers === 1, 10_000)
  assert.equal(sockets.length, 2)
  engine.commands.event(closeTorrent(id))
  await pollUntil(() => engine.latest(id)?.activity === 'shut down', { timeoutMs: 10_000, what: 'shut down' })
  assert.deepEqual(await settleTo(base, 5000), [])
})

test('a magnet torrent closed and started again resumes from its record: metadata, then no re-download', { timeout: 60_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 2 << 20)
  const seed = await seeder(t, made, dirname(tree.root))
  const engine = runEngine(t)
  const out = join(tmp.path, 'out')
  const uri = magnetOf(meta, [seed.peer])
  const id1 = await engine.create(uri, out)
  await engine.waitSeeding(id1, 30_000)
  engine.commands.event(closeTorrent(id1))
  await pollUntil(() => engine.latest(id1)?.activity === 'shut down', { timeoutMs: 10_000, what: 'shut down' })
  const id2 = await engine.create(uri, out)
  const again = await engine.waitSeeding(id2, 30_000)
  assert.equal(again.downTotal, 0, 'nothing downloaded the second time')
  assert.equal(engine.handles.get(id2)!.restoredFrom().source, 'resume')
  assert.equal(activities(engine.out.events, id2)[0], 'fetching metadata')
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
})

test('a magnet with only a tracker (tr, UDP): peers from the tracker serve metadata and data', { timeout: 60_000 }, async (t) => {
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  const tmp = await makeTempDir('eng-magnet-tr-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 2 << 20, fileCount: 2 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: [tracker.httpAnnounce], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  const meta = parsed.value
  await seeder(t, made, dirname(tree.root))
  await tracker.waitForSeeders(meta.infoHash, 1, 10_000)
  const leecher = runEngine(t)
  const out = join(tmp.path, 'out')
  const id = await leecher.create(`magnet:?xt=urn:btih:${meta.infoHash}&tr=${encodeURIComponent(tracker.udpAnnounce)}`, out)
  await leecher.waitSeeding(id, 40_000)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  const first = leecher.out.events.find((e) => isTorrentStatusUpdate(e) && e.torrentid === id && e.statsdictionary.numPeers > 0)
  const s = (first as { statsdictionary: TorrentStats }).statsdictionary
  assert.equal(s.activity, 'fetching metadata')
  assert.equal(s.peerSources?.tracker, 1)
  // The metadata phase announced with the size unknown ("everything left"), the torrent proper with the real size.
  const ours = tracker.announces.filter((a) => a.infoHash === meta.infoHash && a.type === 'udp')
  assert.ok(ours.some((a) => a.left > meta.length), JSON.stringify(ours))
  assert.ok(ours.some((a) => a.left === meta.length || a.left === 0), JSON.stringify(ours))
})

test('hostile metadata peers (oversized length prefix, garbage ut_metadata) are closed or ignored; the honest one completes it', { timeout: 60_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 2 << 20)
  const closed: string[] = []
  const sockets: Socket[] = []
  const hostile = async (name: string, misbehave: (socket: Socket, wire: Wire) => void) => {
    const server = createServer((socket) => {
      sockets.push(socket)
      socket.on('error', () => {})
      socket.on('close', () => closed.push(name))
      const wire = new Wire('tcpIncoming')
      wire.use(utMetadata({ info: meta.infoBytes }) as never)
      socket.pipe(wire).pipe(socket)
      wire.on('handshake', (ih: string) => { wire.handshake(ih, randomBytes(20)); misbehave(socket, wire) })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => server.close())
    return `127.0.0.1:${(server.address() as { port: number }).port}`
  }
  t.after(() => { for (const s of sockets) s.destroy() })
  // Announces a 2 GiB message: we must not wait to buffer it.
  const huge = await hostile('huge', (socket) => setTimeout(() => socket.write(Buffer.from([0x7f, 0xff, 0xff, 0xff, 20])), 200))
  // Sends undecodable and out-of-range ut_metadata messages (data for piece 99, deep nesting).
  const junk = await hostile('junk', (_socket, wire) => wire.once('extended', () => {
    for (const m of ['garbage', 'd8:msg_typei1e5:piecei99e10:total_sizei5ee12345', 'l'.repeat(500)]) {
      try { wire.extended('ut_metadata', Buffer.from(m)) } catch { /* peer mapping missing */ }
    }
  }))
  // The fake peers speak plain BitTorrent only: a plaintext opening, so each dial is one connection.
  const leecher = runEngine(t, { outgoingEncryption: 'disabled' })
  const out = join(tmp.path, 'out')
  const honestPort = await freePort()
  const id = await leecher.create(magnetOf(meta, [huge, junk, `127.0.0.1:${honestPort}`]), out)
  await pollUntil(() => closed.includes('huge'), { timeoutMs: 10_000, what: 'the oversized peer closed' })
  await seeder(t, made, dirname(tree.root), honestPort)
  await leecher.waitSeeding(id, 40_000)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
})

/** A peer serving `info` over ut_metadata (any infohash it is asked for). */
const metadataServer = async (t: T, info: Uint8Array) => {
  const sockets: Socket[] = []
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    const wire = new Wire('tcpIncoming')
    wire.use(utMetadata({ info }) as never)
    socket.pipe(wire).pipe(socket)
    wire.on('handshake', (ih: string) => wire.handshake(ih, randomBytes(20)))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { for (const s of sockets) s.destroy(); server.close() })
  return `127.0.0.1:${(server.address() as { port: number }).port}`
}

test('unusable metadata (unsafe path, file of another running torrent): error activity until closed', { timeout: 60_000 }, async (t) => {
  const { tmp, made, meta } = await dataSet(t, 1 << 20)
  const engine = runEngine(t)
  // An info dictionary that hashes right but names a path outside the save folder.
  const evil = bencode({ files: [{ length: 1, path: ['..', 'evil'] }], name: 'x', 'piece length': 16384, pieces: randomBytes(20) })
  const evilHash = createHash('sha1').update(evil).digest('hex')
  const evilPeer = await metadataServer(t, evil)
  const id1 = await engine.create(`magnet:?xt=urn:btih:${evilHash}&x.pe=${evilPeer}`, join(tmp.path, 'out'))
  const failed = await engine.waitFor(id1, 'an error', (s) => s.activity.startsWith('error'), 20_000)
  assert.match(failed.activity, /^error: metainfo: .*\.\./)
  assert.equal(failed.numPeers, 0, 'its metadata connections are closed')

  // The magnet's files are those of a torrent already running in the same folder.
  const other = await engine.create(made.bytes, join(tmp.path, 'shared'))
  const renamed = bencode({ ...decodeInfo(meta.infoBytes), 'x-salt': 'other torrent, same files' })
  const renamedHash = createHash('sha1').update(renamed).digest('hex')
  const renamedPeer = await metadataServer(t, renamed)
  const id2 = await engine.create(`magnet:?xt=urn:btih:${renamedHash}&x.pe=${renamedPeer}`, join(tmp.path, 'shared'))
  const clash = await engine.waitFor(id2, 'an error', (s) => s.activity.startsWith('error'), 20_000)
  assert.match(clash.activity, new RegExp(`^error: file .* belongs to another running torrent \\(${other}\\)`))
  // It stays (status keeps coming) until closed.
  const n = engine.out.events.length
  await pollUntil(() => engine.out.events.slice(n).some((e) => isTorrentStatusUpdate(e) && e.torrentid === id2), { timeoutMs: 5000, what: 'another status' })
  assert.match(engine.latest(id2)!.activity, /^error: /)
  engine.commands.event(closeTorrent(id2))
  await pollUntil(() => engine.latest(id2)?.activity === 'shut down', { timeoutMs: 10_000, what: 'shut down' })
})

test('a seeder that dials us during the metadata phase serves the metadata, then the data over the same connection', { timeout: 60_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 2 << 20)
  const leecherPort = await freePort()
  const leecher = runEngine(t, { port: leecherPort, host: '127.0.0.1' })
  const out = join(tmp.path, 'out')
  // No peer hint, no tracker: only the incoming connection can bring the metadata.
  const id = await leecher.create(magnetOf(meta, []), out)
  const seederPort = await freePort()
  const seederEngine = runEngine(t, { port: seederPort, host: '127.0.0.1' })
  const sid = await seederEngine.create(made.bytes, dirname(tree.root), [`127.0.0.1:${leecherPort}`])
  await seederEngine.waitSeeding(sid, 20_000)
  await leecher.waitSeeding(id, 40_000)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  const first = leecher.out.events.find((e) => isTorrentStatusUpdate(e) && e.torrentid === id && e.statsdictionary.numPeers > 0)
  assert.equal((first as { statsdictionary: TorrentStats }).statsdictionary.peerSources?.incoming, 1)
  // The incoming connection went over to the torrent: every byte came over it, none over a dial to the seeder's p port.
  const by = leecher.handles.get(id)!.contributed()
  const senders = Object.keys(by)
  assert.equal(senders.length, 1, JSON.stringify(by))
  assert.notEqual(senders[0], `127.0.0.1:${seederPort}`, JSON.stringify(by))
  assert.equal(by[senders[0]!], meta.length, JSON.stringify(by))
})

/** The info dictionary of `bytes` as a plain object (bencode round trip for the test above). */
function decodeInfo (bytes: Uint8Array): Record<string, unknown> {
  const r = bdecode(bytes)
  assert.ok(r.ok)
  return toPlain(r.value) as Record<string, unknown>
}

function toPlain (v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k as string, toPlain(x)]))
  if (Array.isArray(v)) return v.map(toPlain)
  return v
}

function base32Of (hex: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const byte of Buffer.from(hex, 'hex')) bits += byte.toString(2).padStart(8, '0')
  let out = ''
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)]
  return out
}

test('while fetching metadata, the stats carry each tracker\'s note: a refusal says why', { timeout: 30_000 }, async (t) => {
  const { tmp, meta } = await dataSet(t, 1 << 20)
  const { createServer: createHttp } = await import('node:http')
  const refusing = createHttp((_req, res) => res.end('d14:failure reason12:unregisterede'))
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { refusing.closeAllConnections(); refusing.close(() => resolve()) }))
  const tr = `http://127.0.0.1:${(refusing.address() as { port: number }).port}/announce`
  const engine = runEngine(t)
  const id = await engine.create(`${magnetOf(meta, [])}&tr=${encodeURIComponent(tr)}`, join(tmp.path, 'out'))
  const s = await engine.waitFor(id, 'the tracker note', (x) => x.trackers?.[0]?.state === 'failing', 20_000)
  assert.equal(s.activity, 'fetching metadata')
  assert.equal(s.trackers![0]!.url, tr)
  assert.match(s.trackers![0]!.error!, /tracker refused: unregistered/)
})

test('two magnet leechers connected before either has the metadata: the one that gets it first serves it over the handed-over connection', { timeout: 90_000 }, async (t) => {
  const { tmp, tree, made, meta } = await dataSet(t, 2 << 20)
  const aPort = await freePort()
  const a = runEngine(t, { port: aPort, host: '127.0.0.1' })
  const aId = await a.create(magnetOf(meta, []), join(tmp.path, 'a'))
  // B knows only A; A knows nobody yet: their connection carries no metadata at first.
  const b = runEngine(t, { port: await freePort(), host: '127.0.0.1' })
  const bId = await b.create(magnetOf(meta, [`127.0.0.1:${aPort}`]), join(tmp.path, 'b'))
  await b.waitFor(bId, 'connected to A', (s) => s.numPeers === 1, 20_000)
  // A seeder dials A: A gets the metadata, and its torrent adopts B's connection and tells B the metadata's size.
  const seeder = runEngine(t, { port: await freePort(), host: '127.0.0.1' })
  await seeder.create(made.bytes, dirname(tree.root), [`127.0.0.1:${aPort}`])
  await a.waitSeeding(aId, 40_000)
  await b.waitSeeding(bId, 40_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'b', 'payload')), undefined)
  const by = b.handles.get(bId)!.contributed()
  assert.ok((by[`127.0.0.1:${aPort}`] ?? 0) > 0, `B got bytes from A over the connection it dialled: ${JSON.stringify(by)}`)
})
