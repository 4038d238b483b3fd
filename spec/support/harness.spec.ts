/**
 * Proves the real-peer harness (spec/support/peers, spec/support/fake-seeder.ts) against real
 * programs on 127.0.0.1: each part must work here before the engine's end-to-end tests can
 * trust it. Real programs only, no engine code.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cp, readFile, stat, writeFile, appendFile, truncate } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
// @ts-expect-error parse-torrent ships no types; the harness only reads a few fields.
import parseTorrent from 'parse-torrent'
import { makeTempDir, type TempDir } from './peers/tmp.ts'
import { makeRandomTree, compareTrees, type RandomTree } from './peers/data.ts'
import { mktorrent, type MadeTorrent } from './peers/mktorrent.ts'
import { transmissionShow } from './peers/transmission.ts'
import { startOpentracker, type OpenTracker } from './peers/opentracker.ts'
import { startTracker, type EmbeddedTracker } from './peers/tracker-server.ts'
import { startAria2Seeder, startAria2Leecher } from './peers/aria2.ts'
import { startQbittorrent } from './peers/qbittorrent.ts'
import { spawnLogged } from './peers/process.ts'
import { freePort } from './peers/ports.ts'
import { pollUntil } from './peers/wait.ts'
import { startFakeSeeder, type SeedableTorrent } from './fake-seeder.ts'

interface Parsed extends SeedableTorrent {
  readonly name: string
  readonly pieces: readonly string[]
  readonly private?: boolean
}

const NAME = 'payload'
let work: TempDir
let tree: RandomTree
let seedParent: string
let opentracker: OpenTracker
let tracker: EmbeddedTracker
/** Same data, one torrent per tracker (aria2c uses one tracker of a torrent at a time). */
let viaOpentracker: { made: MadeTorrent, parsed: Parsed }
let viaEmbedded: { made: MadeTorrent, parsed: Parsed }

before(async () => {
  work = await makeTempDir('harness-')
  seedParent = join(work.path, 'seed')
  tree = await makeRandomTree(join(seedParent, NAME), { totalBytes: 3 * (1 << 20) + 12345, fileCount: 5 })
  ;[opentracker, tracker] = await Promise.all([startOpentracker(), startTracker()])
  const make = async (file: string, announce: string): Promise<{ made: MadeTorrent, parsed: Parsed }> => {
    const made = await mktorrent(tree.root, join(work.path, file), { announce: [announce], pieceLengthLog2: 16 })
    return { made, parsed: await parseTorrent(made.bytes) as Parsed }
  }
  viaOpentracker = await make('ot.torrent', opentracker.httpAnnounce)
  viaEmbedded = await make('embedded.torrent', tracker.httpAnnounce)
  await opentracker.allow(viaOpentracker.parsed.infoHash)
})

after(async () => {
  await Promise.allSettled([opentracker?.close(), tracker?.close()])
  await work?.close()
})

test('random trees are multi-file and compareTrees finds the first difference', { timeout: 20_000 }, async (t) => {
  const copy = await makeTempDir('harness-copy-')
  t.after(() => copy.close())
  assert.ok(tree.files.length === 5 && tree.files.some((f) => f.path.includes('/')), 'nested multi-file tree')
  assert.equal(tree.files.reduce((a, f) => a + f.size, 0), tree.totalBytes)
  const dst = join(copy.path, NAME)
  await cp(tree.root, dst, { recursive: true })
  assert.equal(await compareTrees(tree.root, dst), undefined)

  const victim = tree.files[2]!
  const offset = Math.floor(victim.size / 2)
  const bytes = await readFile(join(dst, victim.path))
  bytes[offset] = bytes[offset]! ^ 1
  await writeFile(join(dst, victim.path), bytes)
  assert.deepEqual(await compareTrees(tree.root, dst).then((d) => d && { path: d.path, kind: d.kind, offset: d.offset }),
    { path: victim.path, kind: 'content', offset })

  await truncate(join(dst, victim.path), offset)
  assert.equal((await compareTrees(tree.root, dst))?.kind, 'size')
  await cp(join(tree.root, victim.path), join(dst, victim.path))
  await appendFile(join(dst, 'stray.part'), 'x')
  assert.equal((await compareTrees(tree.root, dst))?.kind, 'extra')
  assert.equal(await compareTrees(tree.root, dst, { ignoreExtra: true }), undefined)
  assert.equal((await compareTrees(dst, tree.root))?.kind, 'missing')
})

test('transmission-show and parse-torrent agree on mktorrent torrents', { timeout: 20_000 }, async () => {
  const shown = await transmissionShow(viaEmbedded.made.path)
  const { parsed } = viaEmbedded
  assert.equal(shown.hash, parsed.infoHash)
  assert.equal(shown.name, NAME)
  assert.equal(shown.pieceCount, parsed.pieces.length)
  assert.equal(shown.pieceSize, 1 << 16)
  assert.equal(shown.private, false)
  assert.deepEqual(shown.trackers, [[tracker.httpAnnounce]])
  assert.deepEqual([...shown.files].sort(), tree.files.map((f) => `${NAME}/${f.path}`).sort())

  const priv = await mktorrent(tree.root, join(work.path, 'private.torrent'), {
    announce: [[tracker.httpAnnounce, opentracker.httpAnnounce], [tracker.udpAnnounce]], private: true, pieceLengthLog2: 15
  })
  const privParsed = await parseTorrent(priv.bytes) as Parsed
  const privShown = await transmissionShow(priv.path)
  assert.equal(privParsed.private, true)
  assert.equal(privShown.private, true)
  assert.equal(privShown.hash, privParsed.infoHash)
  assert.notEqual(privShown.hash, parsed.infoHash, 'the private flag is part of the infohash')
  assert.equal(privShown.trackers.length, 2)
  await assert.rejects(transmissionShow(join(work.path, 'no-such.torrent')))
})

test('aria2c downloads from an aria2c seeder through opentracker', { timeout: 60_000 }, async (t) => {
  const out = await makeTempDir('harness-ot-')
  t.after(() => out.close())
  const seeder = await startAria2Seeder({ torrentPath: viaOpentracker.made.path, dir: seedParent })
  t.after(() => seeder.close())
  const leecher = await startAria2Leecher({ torrentPath: viaOpentracker.made.path, dir: out.path })
  t.after(() => leecher.close())
  await leecher.waitDone(45_000)
  const diff = await compareTrees(tree.root, join(out.path, NAME))
  assert.equal(diff, undefined, diff?.detail)
  const counts = await opentracker.scrape(viaOpentracker.parsed.infoHash)
  assert.ok(counts.complete >= 1, `opentracker lists the seeder: ${JSON.stringify(counts)}`)
})

test('opentracker refuses infohashes until allowed', { timeout: 20_000 }, async () => {
  const hash = randomBytes(20).toString('hex')
  const probe = async (): Promise<string> => {
    const query = `info_hash=${hash.replace(/../g, (b) => `%${b}`)}&peer_id=-TP0000-harness00000&port=9&uploaded=0&downloaded=0&left=0&numwant=0&compact=1`
    return await (await fetch(`${opentracker.httpAnnounce}?${query}`)).text()
  }
  assert.match(await probe(), /not authorized/)
  await opentracker.allow(hash)
  assert.doesNotMatch(await probe(), /not authorized/)
})

test('aria2c downloads from an aria2c seeder through the embedded tracker', { timeout: 60_000 }, async (t) => {
  const out = await makeTempDir('harness-et-')
  t.after(() => out.close())
  const { infoHash } = viaEmbedded.parsed
  const seeder = await startAria2Seeder({ torrentPath: viaEmbedded.made.path, dir: seedParent })
  t.after(() => seeder.close())
  await tracker.waitForSeeders(infoHash, 1, 10_000)
  assert.ok(tracker.peers(infoHash).includes(seeder.peer), `tracker lists ${seeder.peer}: ${tracker.peers(infoHash).join()}`)
  const leecher = await startAria2Leecher({ torrentPath: viaEmbedded.made.path, dir: out.path })
  t.after(() => leecher.close())
  await leecher.waitDone(45_000)
  const diff = await compareTrees(tree.root, join(out.path, NAME))
  assert.equal(diff, undefined, diff?.detail)
  // aria2c may exit (announcing stopped) before its next regular announce says completed.
  const events = tracker.announces.filter((a) => a.addr === leecher.peer).map((a) => a.event)
  assert.equal(events[0], 'start', `the tracker recorded the leecher's announces: ${events.join()}`)
})

test('qbittorrent-nox downloads from an aria2c seeder given as an explicit peer', { timeout: 60_000 }, async (t) => {
  const out = await makeTempDir('harness-qb-')
  t.after(() => out.close())
  // A torrent whose tracker is dead, so the explicit peer is the only way in.
  const made = await mktorrent(tree.root, join(work.path, 'no-tracker.torrent'), {
    announce: [`http://127.0.0.1:${await freePort()}/announce`], pieceLengthLog2: 16, comment: 'explicit peers only'
  })
  const parsed = await parseTorrent(made.bytes) as Parsed
  const seeder = await startAria2Seeder({ torrentPath: made.path, dir: seedParent })
  t.after(() => seeder.close())
  const qb = await startQbittorrent()
  t.after(() => qb.close())
  await qb.addTorrent(made.bytes, parsed.infoHash, { savePath: out.path })
  await qb.addPeers(parsed.infoHash, [seeder.peer])
  const done = await qb.waitComplete(parsed.infoHash, 45_000, [seeder.peer])
  assert.equal(done.progress, 1)
  const diff = await compareTrees(tree.root, join(out.path, NAME))
  assert.equal(diff, undefined, diff?.detail)
})

test('qbittorrent-nox seeds existing data (skip_checking) to an aria2c leecher through the embedded tracker', { timeout: 60_000 }, async (t) => {
  const out = await makeTempDir('harness-qbseed-')
  t.after(() => out.close())
  const made = await mktorrent(tree.root, join(work.path, 'qb-seed.torrent'), { announce: [tracker.httpAnnounce], pieceLengthLog2: 17 })
  const parsed = await parseTorrent(made.bytes) as Parsed
  const qb = await startQbittorrent()
  t.after(() => qb.close())
  await qb.addTorrent(made.bytes, parsed.infoHash, { savePath: seedParent, skipChecking: true })
  const seeding = await qb.waitComplete(parsed.infoHash, 20_000)
  assert.equal(seeding.progress, 1)
  await tracker.waitForSeeders(parsed.infoHash, 1, 20_000)
  assert.ok(tracker.peers(parsed.infoHash).includes(qb.peer), `tracker lists ${qb.peer}: ${tracker.peers(parsed.infoHash).join()}`)
  const leecher = await startAria2Leecher({ torrentPath: made.path, dir: out.path })
  t.after(() => leecher.close())
  await leecher.waitDone(45_000)
  const diff = await compareTrees(tree.root, join(out.path, NAME))
  assert.equal(diff, undefined, diff?.detail)
})

test('the fake seeder serves an aria2c leecher found through the embedded tracker', { timeout: 60_000 }, async (t) => {
  const out = await makeTempDir('harness-fake-')
  t.after(() => out.close())
  const made = await mktorrent(tree.root, join(work.path, 'fake.torrent'), { announce: [tracker.httpAnnounce], pieceLengthLog2: 15 })
  const parsed = await parseTorrent(made.bytes) as Parsed
  const fake = await startFakeSeeder({ torrent: parsed, dir: seedParent, announce: [tracker.httpAnnounce] })
  t.after(() => fake.close())
  await tracker.waitForSeeders(parsed.infoHash, 1, 10_000)
  const leecher = await startAria2Leecher({ torrentPath: made.path, dir: out.path })
  t.after(() => leecher.close())
  await leecher.waitDone(45_000)
  const diff = await compareTrees(tree.root, join(out.path, NAME))
  assert.equal(diff, undefined, diff?.detail)
  const stats = fake.stats()
  assert.ok(stats.bytesSent >= tree.totalBytes, `served everything: ${JSON.stringify(stats)}`)
  assert.equal(stats.corruptBlocksSent, 0)
})

/** A minimal downloading wire that asks for blocks, to observe the fake seeder's faults. */
async function wireTo (port: number, infoHash: string): Promise<{ wire: Wire, closed: Promise<void>, get: (index: number, offset: number, length: number) => Promise<Uint8Array> }> {
  const socket = connect({ port, host: '127.0.0.1' })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const wire = new Wire('tcpOutgoing')
  wire.on('error', () => {})
  socket.pipe(wire).pipe(socket)
  const unchoked = new Promise<void>((resolve) => wire.once('unchoke', () => resolve()))
  wire.handshake(infoHash, randomBytes(20).toString('hex'), { dht: false })
  wire.interested()
  await Promise.race([unchoked, closed.then(() => { throw new Error('closed before unchoke') })])
  const get = (index: number, offset: number, length: number): Promise<Uint8Array> => new Promise((resolve, reject) => {
    wire.request(index, offset, length, (err, block) => { if (err !== null || block === undefined) reject(err ?? new Error('no block')); else resolve(block) })
  })
  return { wire, closed, get }
}

test('fake seeder faults: corrupt pieces, dropped connections, a seeder that dies, invalid requests', { timeout: 30_000 }, async (t) => {
  const parsed = viaEmbedded.parsed
  // Pieces 0 and 1 lie entirely in the first file (64 KiB pieces; the first file is larger).
  assert.ok(tree.files[0]!.size > 2 * parsed.pieceLength)
  const first = await readFile(join(tree.root, tree.files[0]!.path))
  const original = (index: number, offset: number, length: number): Buffer =>
    first.subarray(index * parsed.pieceLength + offset, index * parsed.pieceLength + offset + length)
  const liar = await startFakeSeeder({ torrent: parsed, dir: seedParent, corrupt: (i) => i === 1 })
  t.after(() => liar.close())
  const a = await wireTo(liar.port, parsed.infoHash)
  assert.deepEqual(Buffer.from(await a.get(0, 16384, 16384)), original(0, 16384, 16384))
  assert.notDeepEqual(Buffer.from(await a.get(1, 0, 16384)), original(1, 0, 16384))
  assert.equal(liar.stats().corruptBlocksSent, 1)
  // A block past the piece's end is a protocol violation: the seeder hangs up.
  a.wire.request(0, parsed.pieceLength - 100, 16384)
  await a.closed
  assert.equal(liar.stats().badRequests, 1)

  const flaky = await startFakeSeeder({ torrent: parsed, dir: seedParent, dropAfterBytes: 32768 })
  t.after(() => flaky.close())
  const b = await wireTo(flaky.port, parsed.infoHash)
  await b.get(0, 0, 16384)
  await b.get(0, 16384, 16384)
  await b.closed
  const c = await wireTo(flaky.port, parsed.infoHash) // still accepts new connections
  await c.get(3, 0, 16384)
  c.wire.destroy()
  assert.equal(flaky.stats().drops, 1)

  const mortal = await startFakeSeeder({ torrent: parsed, dir: seedParent, dieAfterBytes: 16384 })
  t.after(() => mortal.close())
  const d = await wireTo(mortal.port, parsed.infoHash)
  await d.get(2, 0, 16384)
  await d.closed
  await assert.rejects(wireTo(mortal.port, parsed.infoHash), 'a dead seeder refuses new connections')
})

test('close() kills the program, removes its folder, and is safe to call twice', { timeout: 20_000 }, async () => {
  const ot = await startOpentracker()
  const pid = ot.process.pid
  assert.doesNotThrow(() => process.kill(pid, 0))
  await Promise.all([ot.close(), ot.close()])
  await ot.close()
  assert.notEqual(ot.process.exitInfo(), undefined)
  assert.throws(() => process.kill(pid, 0), 'opentracker is gone')
  assert.equal(existsSync(ot.logPath), false, 'its folder is removed')

  // A child that ignores SIGTERM is SIGKILLed after the grace period, with its whole group.
  const dir = await makeTempDir('harness-proc-')
  const child = spawnLogged('sh', ['-c', 'trap "" TERM; echo ready; sleep 30 & wait; sleep 30'], { logPath: join(dir.path, 'log'), graceMs: 300 })
  await pollUntil(async () => (await child.readLog()).includes('ready'), { timeoutMs: 5000, what: 'the shell to trap SIGTERM' })
  await child.close()
  assert.equal(child.exitInfo()?.signal, 'SIGKILL')
  await dir.close()
  await dir.close()
  await assert.rejects(stat(dir.path))
})
