/**
 * Incoming message stream encryption (MSE/PE): the engine answers the
 * obfuscated handshake that aria2, libtorrent and Transmission try first,
 * picks plaintext payload when the peer offers it, RC4 when the peer insists,
 * drops an obfuscated handshake for a torrent it does not run, and with
 * `encryption: false` accepts plaintext only. Real aria2c leechers (default
 * settings, and RC4 required) download from the engine alone, and the
 * engine's stats count the first as an MSE handshake with plaintext payload
 * and the second as RC4.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { obfuscatedHash } from '../../lib/engine/client/listener.ts'
import { defaultAdmissionLimits } from '../../lib/engine/policy/admission.ts'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startAria2Leecher } from '../support/peers/aria2.ts'
import { freePort } from '../support/peers/ports.ts'
import { isTorrentStatusUpdate } from '../../lib/messages.ts'

const SIZE = 4 << 20

/** A seeding engine on 127.0.0.1 with a small single-file torrent. */
const seedingEngine = async (t: { after(fn: () => unknown): void }, options: { encryption?: boolean; announce?: string; statusInterval?: number } = {}) => {
  const tmp = await makeTempDir('mse-')
  t.after(() => tmp.close())
  const file = join(tmp.path, 'seed', 'payload.bin')
  await mkdir(dirname(file), { recursive: true })
  await writeRandomFile(file, SIZE)
  const bytes = await makeTorrent(file, { announce: options.announce ?? 'http://127.0.0.1:1/announce', pieceLength: 262144 })
  const meta = await parseMetainfo(bytes)
  assert.ok(meta.ok)
  const port = await freePort()
  const engine = runEngine(t, {
    port,
    host: '127.0.0.1',
    ...(options.encryption === undefined ? {} : { encryption: options.encryption }),
    ...(options.statusInterval === undefined ? {} : { statusInterval: options.statusInterval })
  })
  const id = await engine.create(bytes, dirname(file))
  await engine.waitSeeding(id, 20_000)
  return { tmp, port, infoHash: meta.value.infoHash, pieceLength: meta.value.pieceLength, bytes, data: await readFile(file), engine }
}

interface Outcome {
  readonly method: number | null
  readonly block: Uint8Array | null
  readonly closed: boolean
}

/**
 * Connects with bittorrent-protocol's own MSE initiator (peEnabled 1: offers
 * plaintext and RC4; 2: RC4 only), handshakes and asks for the first block.
 */
const initiate = (port: number, infoHash: string, peEnabled: 1 | 2): Promise<Outcome> =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const wire = new Wire('tcpOutgoing', peEnabled)
    const raw = wire as unknown as { _encryptionMethod?: number | null }
    let settled = false
    const done = (o: Omit<Outcome, 'method'>): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      const method = raw._encryptionMethod ?? null
      socket.destroy()
      resolve({ ...o, method })
    }
    const timer = setTimeout(() => done({ block: null, closed: false }), 10_000)
    socket.on('error', () => done({ block: null, closed: true }))
    socket.on('close', () => done({ block: null, closed: true }))
    socket.pipe(wire as unknown as NodeJS.ReadWriteStream).pipe(socket)
    socket.on('connect', () => wire.startEncryption(infoHash))
    wire.on('crypto-handshake', () => wire.handshake(infoHash, randomBytes(20).toString('hex'), { fast: false, dht: false }))
    wire.on('bitfield', () => wire.interested())
    wire.on('unchoke', () =>
      wire.request(0, 0, 16384, (err: Error | null, block?: Uint8Array) => done({ block: err ? null : block ?? null, closed: false }))
    )
  })

for (const [peEnabled, method, what] of [
  [1, 1, 'offers plaintext gets plaintext payload'],
  [2, 2, 'requires RC4 gets an RC4 stream']
] as const) {
  test(`an MSE initiator that ${what} and real data`, { timeout: 40_000 }, async (t) => {
    const s = await seedingEngine(t)
    const o = await initiate(s.port, s.infoHash, peEnabled)
    assert.equal(o.method, method, 'the method the engine selected')
    assert.ok(o.block, 'the first block arrived')
    assert.deepEqual(Buffer.from(o.block), s.data.subarray(0, 16384))
  })
}

test('an obfuscated handshake for a torrent the engine does not run is dropped; the engine keeps seeding', { timeout: 40_000 }, async (t) => {
  const s = await seedingEngine(t)
  const o = await initiate(s.port, randomBytes(20).toString('hex'), 1)
  assert.equal(o.block, null)
  assert.equal(o.closed, true, 'connection closed')
  // The listener is still there for the right torrent.
  const ok = await initiate(s.port, s.infoHash, 1)
  assert.ok(ok.block)
})

test('garbage instead of a handshake is dropped at the handshake timeout; the listener keeps serving', { timeout: 40_000 }, async (t) => {
  const s = await seedingEngine(t)
  const closed = await new Promise<boolean>((resolve) => {
    const socket = net.connect(s.port, '127.0.0.1', () => socket.write(randomBytes(2048)))
    const timer = setTimeout(() => resolve(false), 15_000)
    socket.on('error', () => {})
    socket.resume() // read the engine's answer, else its close is never seen
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
  assert.equal(closed, true, 'no handshake follows: the engine closes the connection')
  const ok = await initiate(s.port, s.infoHash, 1)
  assert.ok(ok.block)
})

test('connections still in their handshake are capped: a newcomer takes the slot of the oldest idle one and is served', { timeout: 40_000 }, async (t) => {
  const s = await seedingEngine(t)
  const idle: net.Socket[] = []
  t.after(() => idle.forEach((c) => c.destroy()))
  const closed = new Set<number>()
  for (let i = 0; i < defaultAdmissionLimits.maxPending; i++) {
    const c = net.connect(s.port, '127.0.0.1')
    c.on('error', () => {})
    c.on('close', () => closed.add(i))
    await new Promise((r) => c.once('connect', r))
    idle.push(c)
  }
  // The newcomer's MSE handshake goes through while every slot was taken by an idle socket.
  const started = Date.now()
  const ok = await initiate(s.port, s.infoHash, 1)
  assert.ok(ok.block, 'the newcomer is served')
  assert.ok(Date.now() - started < defaultAdmissionLimits.handshakeTimeout, 'at once, not after a handshake timeout')
  // The oldest idle connection gave up its slot (the test times out if it is never closed).
  if (!closed.has(0)) await new Promise((r) => idle[0]!.once('close', r))
  assert.ok(closed.size < idle.length, 'the others keep theirs')
})

test('with encryption: false the engine refuses obfuscated handshakes and still takes plaintext ones', { timeout: 40_000 }, async (t) => {
  const s = await seedingEngine(t, { encryption: false })
  const o = await initiate(s.port, s.infoHash, 1)
  assert.equal(o.block, null)
  assert.equal(o.closed, true)
  // A plaintext peer (the same library, PE off) gets data.
  const plain = await new Promise<Uint8Array | null>((resolve) => {
    const socket = net.connect(s.port, '127.0.0.1')
    const wire = new Wire('tcpOutgoing')
    socket.pipe(wire as unknown as NodeJS.ReadWriteStream).pipe(socket)
    const timer = setTimeout(() => resolve(null), 10_000)
    socket.on('error', () => resolve(null))
    socket.on('connect', () => wire.handshake(s.infoHash, randomBytes(20).toString('hex')))
    wire.on('bitfield', () => wire.interested())
    wire.on('unchoke', () =>
      wire.request(0, 0, 16384, (err: Error | null, block?: Uint8Array) => {
        clearTimeout(timer)
        socket.destroy()
        resolve(err ? null : block ?? null)
      })
    )
  })
  assert.ok(plain)
  assert.deepEqual(Buffer.from(plain), s.data.subarray(0, 16384))
})

test('obfuscatedHash is SHA-1("req2" + infohash)', () => {
  // Known answer for the all-zero infohash, computed with Python's hashlib.
  assert.equal(obfuscatedHash('0'.repeat(40)), 'a2310e5196f70e3bc4377b442d9bcb53c9d1c4f6')
  assert.notEqual(obfuscatedHash('0'.repeat(40)), obfuscatedHash('f'.repeat(40)))
})

test('aria2c leechers get the whole torrent from the engine alone: default settings connect on the first (obfuscated) try with plaintext payload, and RC4 required gets RC4', { timeout: 90_000 }, async (t) => {
  const tracker = await startTracker({ intervalMs: 2000 })
  t.after(() => tracker.close())
  // Stats every 20 ms: on loopback the download can otherwise finish between two updates.
  const s = await seedingEngine(t, { announce: tracker.httpAnnounce, statusInterval: 20 })
  const torrentPath = join(s.tmp.path, 'payload.torrent')
  await writeFile(torrentPath, s.bytes)
  for (const [name, extraArgs, method] of [
    ['default', [], 'obfuscated'],
    ['rc4-required', ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4'], 'rc4']
  ] as const) {
    const from = s.engine.out.events.length
    const out = await makeTempDir(`mse-${name}-`)
    t.after(() => out.close())
    const leecher = await startAria2Leecher({ torrentPath, dir: out.path, extraArgs })
    t.after(() => leecher.close())
    await leecher.waitDone(40_000)
    const got = await readFile(join(out.path, 'payload.bin'))
    assert.ok(got.equals(s.data), `${name}: byte-identical`)
    const log = await readFile(leecher.detailLogPath, 'utf8')
    assert.doesNotMatch(log, /Retry using legacy BitTorrent handshake/, `${name}: the first obfuscated handshake was answered`)
    const counts = s.engine.out.events.slice(from).filter(isTorrentStatusUpdate).map((m) => m.statsdictionary.peerEncryption)
    assert.ok(counts.some((c) => (c?.[method] ?? 0) >= 1), `${name}: the engine counted the leecher as ${method}: ${JSON.stringify(counts.slice(-3))}`)
    assert.ok(counts.every((c) => c !== undefined && c.none === 0), `${name}: never without MSE`)
  }
})
