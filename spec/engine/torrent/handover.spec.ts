import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { Torrent } from '../../../lib/engine/torrent/torrent.ts'
import type { TorrentContext } from '../../../lib/engine/torrent/context.ts'
import { MetadataPhase } from '../../../lib/engine/torrent/metadata-phase.ts'
import { AvailabilityLog, MAX_LOGGED_HAVES, type HandedOver } from '../../../lib/engine/torrent/handover.ts'
import { incomingWire, Peer, type CappedWire } from '../../../lib/engine/wire/peer.ts'
import { createHasher } from '../../../lib/engine/disk/hasher.ts'
import type { Metainfo } from '../../../lib/engine/contracts.ts'
import { createPex } from '../../../lib/engine/swarm/pex.ts'
import { ManualClock, MemoryStorage, metainfoOf, remotePeer, socketPair } from '../../support/engine-fakes.ts'

// A magnet's metadata phase hands its live connections to the torrent proper:
// remote peers made of real bittorrent-protocol wires dial the phase over
// in-memory connections and say what they have before the metadata is known;
// the coordinator then adopts the same connections and downloads over them.

const B = 16384

/** What a remote says right after the handshakes, and whether it serves. */
interface Behaviour {
  /** Its first messages (sent once our handshake arrived). */
  greet(wire: Wire): void
  readonly fast?: boolean
  /** The port its extended handshake names (`p`). */
  readonly listenPort?: number
  /** Peers it learnt from our PEX (it runs ut_pex when given). */
  readonly pexLearnt?: string[]
}

interface Remote {
  readonly wire: Wire
  /** Its end of the connection (destroying it closes ours). */
  readonly socket: { destroy(): void }
  readonly address: string
  /** Pieces it was asked for. */
  readonly requested: Set<number>
  /** Messages it received from us. */
  readonly got: string[]
  /** Our extended handshakes, as it received them. */
  readonly handshakes: Array<Record<string, unknown>>
  closed: boolean
}

interface Rig {
  readonly phase: MetadataPhase
  readonly remotes: Remote[]
  /** Connections the phase counts. */
  phaseConns(): number
  /** A remote dials the phase; resolves once the phase heard its first messages. */
  connect(address: string, b: Behaviour, data: Uint8Array, heard: string): Promise<Remote>
  /** The torrent proper, started with the phase's connections handed over; `dialled` must stay empty. */
  torrent(opts?: { fill?: Uint8Array; now?: () => number; dial?: TorrentContext['dial'] }): Promise<{ torrent: Torrent; storage: MemoryStorage; dialled: string[]; refused: HandedOver[] }>
  changed(when: () => boolean): Promise<void>
  done(): Promise<void>
}

/** `pex`: the phase and the torrent run PEX (the torrent's deltas every 50 ms, the phase's never within a test). */
const rig = async (meta: Metainfo, o: { pex?: boolean } = {}): Promise<Rig> => {
  const folder = await mkdtemp(join(tmpdir(), 'handover-spec-'))
  const hasher = createHasher({ workers: 0 })
  const peerId = randomBytes(20).toString('hex')
  let count = 0
  const remotes: Remote[] = []
  const phase = new MetadataPhase({
    infoHash: meta.infoHash, peerId, port: 6881, trackers: [], maxConns: 10, pex: o.pex === true, pexInterval: 600_000,
    canConnect: () => true, connectionsChanged: (d) => { count += d }, changed() {}
  })
  phase.start()
  let torrent: Torrent | null = null
  const waiters = new Set<() => void>()
  return {
    phase,
    remotes,
    phaseConns: () => count,
    async connect(address, b, data, heard) {
      const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
      const [ours, theirs] = socketPair({ address: host, port })
      const wire = incomingWire(ours)
      const remote = new Wire()
      theirs.pipe(remote).pipe(theirs)
      if (b.listenPort !== undefined) remote.extendedHandshake['p'] = b.listenPort
      if (b.pexLearnt !== undefined) {
        const pex = createPex({ private: false, intervalMs: 600_000, minIncomingIntervalMs: 0 })!
        pex.on('peer', (addr) => b.pexLearnt!.push(addr))
        remote.use(pex.extension)
        theirs.on('close', () => pex.destroy())
      }
      const r: Remote = { wire: remote, socket: theirs, address, requested: new Set(), got: [], handshakes: [], closed: false }
      remote.on('extended', (name: string, body: Record<string, unknown>) => { if (name === 'handshake') r.handshakes.push(body) })
      remotes.push(r)
      remote.on('error', () => {})
      remote.on('close', () => { r.closed = true })
      theirs.on('close', () => { r.closed = true })
      for (const m of ['have', 'have-none', 'have-all', 'bitfield', 'interested', 'allowed-fast']) remote.on(m, () => r.got.push(m))
      remote.on('interested', () => remote.unchoke())
      remote.on('request', (piece: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) => {
        r.requested.add(piece)
        respond(null, Buffer.from(data.subarray(piece * meta.pieceLength + offset, piece * meta.pieceLength + offset + length)))
      })
      remote.once('handshake', () => b.greet(remote))
      // As the listener does: read the handshake, then hand the connection to the magnet's phase.
      const first = once(wire, 'handshake')
      remote.handshake(meta.infoHash, randomBytes(20).toString('hex'), { fast: b.fast !== false })
      const [, remoteId] = await first as [string, string]
      const said = once(wire, heard)
      assert.equal(phase.acceptIncoming(ours, wire as CappedWire, remoteId), true)
      await said
      return r
    },
    async torrent(opts = {}) {
      const storage = new MemoryStorage(meta.length, opts.fill)
      const dialled: string[] = []
      const refused: HandedOver[] = []
      const ctx: TorrentContext = {
        peerId, port: 6881, hasher, canConnect: () => true, connectionsChanged() {},
        changed() { for (const w of [...waiters]) w() },
        maxConnsPerTorrent: 10, uploadSlots: 4, requestTimeout: 30000, banStrikes: 1, hashInline: true, pex: o.pex === true, pexInterval: 50,
        ...(opts.now === undefined ? {} : { now: opts.now }),
        dial: (host, port, peerOptions) => {
          dialled.push(`${host}:${port}`)
          if (opts.dial === undefined) throw new Error('a handed-over peer must not be dialled')
          return opts.dial(host, port, peerOptions)
        }
      }
      torrent = new Torrent('t1', meta, folder, storage, ctx, [])
      for (const p of phase.learnt()) torrent.addPeerAddress(p.address, p.source)
      const t = torrent
      await t.start(() => {
        for (const h of phase.handOver()) if (!t.adopt(h)) { refused.push(h); h.close('refused') }
      })
      await phase.close()
      return { torrent: t, storage, dialled, refused }
    },
    changed: (when) => new Promise<void>((resolve) => {
      const check = (): void => {
        if (!when()) return
        waiters.delete(check)
        clearInterval(timer)
        resolve()
      }
      const timer = setInterval(check, 5)
      waiters.add(check)
      check()
    }),
    async done() {
      await phase.close()
      await torrent?.close()
      await hasher.close()
      await rm(folder, { recursive: true, force: true })
    }
  }
}

/** A bitfield of `pieceCount` pieces with `have` set (spare bits zero), plus `extra` bytes. */
const bitfieldOf = (pieceCount: number, have: (i: number) => boolean, extra = 0): Uint8Array => {
  const bits = new Uint8Array(Math.ceil(pieceCount / 8) + extra)
  for (let i = 0; i < pieceCount; i++) if (have(i)) bits[i >> 3]! |= 0x80 >> (i & 7)
  return bits
}

test('handover: a bitfield and a have received before the metadata are applied after it, over the same connection', async () => {
  const data = randomBytes(5 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const r = await rig(meta)
  try {
    // It announces pieces 0 and 2 in a bitfield, then piece 3 in a have; never 1 or 4.
    const remote = await r.connect('10.0.0.2:51000', { greet: (w) => { w.bitfield(bitfieldOf(5, (i) => i === 0 || i === 2)); w.have(3) } }, data, 'have')
    assert.equal(r.phaseConns(), 1)
    assert.ok(remote.got.includes('have-none'), 'the phase said it has nothing (fast extension on)')
    const { torrent, dialled } = await r.torrent()
    assert.equal(r.phaseConns(), 0, 'the connection left the phase')
    await r.changed(() => torrent.stats().piecesDone === 3)
    assert.deepEqual([...remote.requested].sort(), [0, 2, 3], 'only the announced pieces were asked for')
    assert.deepEqual(dialled, [])
    assert.equal(remote.closed, false, 'the connection stays open')
    assert.equal(torrent.peerInfo().length, 1)
    assert.equal(torrent.contributed()['10.0.0.2:51000'], 3 * 2 * B)
    assert.ok(!remote.got.includes('bitfield'), 'no late bitfield from us')
  } finally {
    await r.done()
  }
})

test('handover: a bitfield of the wrong length closes that connection only; the other one downloads everything', async () => {
  const data = randomBytes(6 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const r = await rig(meta)
  try {
    const bad = await r.connect('10.0.0.3:51000', { greet: (w) => w.bitfield(bitfieldOf(6, () => true, 1)) }, data, 'bitfield')
    const good = await r.connect('10.0.0.4:51000', { greet: (w) => w.bitfield(bitfieldOf(6, () => true)) }, data, 'bitfield')
    const { torrent, storage, dialled, refused } = await r.torrent()
    assert.equal(refused.length, 0, 'both were admitted')
    await r.changed(() => torrent.stats().activity === 'seeding')
    assert.ok(storage.data.equals(data))
    assert.equal(bad.closed, true, 'the wrong-length bitfield closed its connection')
    assert.equal(bad.requested.size, 0)
    assert.equal(good.closed, false)
    assert.deepEqual(Object.keys(torrent.contributed()), ['10.0.0.4:51000'])
    assert.deepEqual(dialled, [])
  } finally {
    await r.done()
  }
})

test('handover: the fast extension\'s Have All before the metadata makes a seed of the peer; allowed-fast pieces come before any unchoke', async () => {
  const data = randomBytes(4 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const r = await rig(meta)
  try {
    let unchoked = false
    const seed = await r.connect('10.0.0.5:51000', { greet: (w) => { w.haveAll(); w.allowedFast(1) } }, data, 'allowed-fast')
    seed.wire.removeAllListeners('interested')
    // It unchokes only once piece 1 (its allowed-fast piece) was asked for while choked.
    seed.wire.on('request', (piece: number) => {
      if (!unchoked && piece === 1) queueMicrotask(() => { unchoked = true; seed.wire.unchoke() })
    })
    const { torrent, storage } = await r.torrent()
    await r.changed(() => torrent.stats().activity === 'seeding')
    assert.ok(storage.data.equals(data))
    assert.equal(unchoked, true, 'the allowed-fast piece was requested while choked')
    assert.ok(seed.got.includes('have-none'), 'the fast extension was on: the phase sent Have None')
    // Both seeds: the connection closes once we have everything.
    await r.changed(() => seed.closed)
  } finally {
    await r.done()
  }
})

test('handover: a magnet whose data is complete already: a seed is closed, a leecher gets a have per piece, no bitfield, and the metadata size', async () => {
  const data = randomBytes(4 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const r = await rig(meta)
  try {
    const seed = await r.connect('10.0.0.6:51000', { greet: (w) => w.haveAll() }, data, 'have-all')
    const leecher = await r.connect('10.0.0.7:51000', { greet: (w) => w.haveNone() }, data, 'have-none')
    const haves = new Promise<void>((resolve) => {
      let n = 0
      leecher.wire.on('have', () => { if (++n === meta.pieceCount) resolve() })
    })
    const { torrent } = await r.torrent({ fill: data })
    assert.equal(torrent.stats().activity, 'seeding')
    await haves
    await r.changed(() => seed.closed)
    assert.equal(leecher.closed, false)
    assert.ok(!leecher.got.includes('bitfield') && !leecher.got.includes('have-all'), `no late bitfield: ${leecher.got.join(' ')}`)
    // Our first extended handshake went out without the metadata; the leecher hears its size once we have it.
    assert.equal(leecher.handshakes[0]?.['metadata_size'], undefined)
    await r.changed(() => leecher.handshakes.length === 2)
    const again = leecher.handshakes[1]!
    assert.equal(again['metadata_size'], meta.infoBytes.length)
    assert.equal(typeof (again['m'] as Record<string, unknown> | undefined)?.['ut_metadata'], 'number', 'every extension id again')
    assert.equal(seed.handshakes.length, 1, 'a seed has the metadata: no second handshake')
  } finally {
    await r.done()
  }
})

test('handover: the phase lets go of the wire: its listeners leave, nothing counts twice', async () => {
  const data = randomBytes(2 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const r = await rig(meta)
  try {
    await r.connect('10.0.0.8:51000', { greet: (w) => w.bitfield(bitfieldOf(2, () => true)) }, data, 'bitfield')
    const [h] = r.phase.handOver()
    assert.ok(h !== undefined)
    assert.equal(r.phaseConns(), 0)
    assert.equal(r.phase.connectedPeers(), 0)
    for (const ev of ['oversize', 'malformed', 'protocol-error', 'end']) assert.equal(h.wire.listenerCount(ev), 0, `no phase listener on '${ev}'`)
    assert.equal(h.wire.listenerCount('bitfield'), 1, 'only the log records')
    assert.equal(h.address, '10.0.0.8:51000')
    assert.equal(h.dialled, null)
    h.log.detach()
    assert.equal(h.wire.listenerCount('bitfield'), 0)
    // Closed by the phase's owner, not by the phase (which no longer holds it).
    await r.phase.close()
    assert.equal(h.socket.destroyed, false)
    h.close('test over')
    assert.equal(h.socket.destroyed, true)
  } finally {
    await r.done()
  }
})

test('handover: a peer that dialled the phase leaves its listen address with the torrent, which redials it once the connection closes', async () => {
  const data = randomBytes(4 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const r = await rig(meta)
  const clock = new ManualClock(Date.now())
  try {
    // It dialled us from an ephemeral port and listens on 7003 (its extended handshake's `p`).
    const remote = await r.connect('10.0.0.12:51000', { greet: (w) => w.haveNone(), listenPort: 7003 }, data, 'have-none')
    let seedAt: (address: string) => void = () => {}
    const redialled = new Promise<string>((resolve) => {
      seedAt = resolve
    })
    const { torrent, dialled } = await r.torrent({
      now: clock.now,
      // The redial: a seed of the whole torrent at that address.
      dial: (host, port, o) => {
        const [ours, theirs] = socketPair()
        remotePeer(theirs, { meta, data })
        const peer = new Peer(ours, o)
        queueMicrotask(() => peer.sendHandshake())
        seedAt(`${host}:${port}`)
        return peer
      }
    })
    assert.equal(torrent.peerInfo().length, 1)
    // While the handed-over connection lasts, its listen address is not dialled beside it.
    clock.advance(5000)
    torrent.tick()
    assert.deepEqual(dialled, [])
    remote.socket.destroy()
    await r.changed(() => torrent.peerInfo().length === 0)
    // The first redial waits a second after the close, as for a dialled address.
    torrent.tick()
    assert.deepEqual(dialled, [], 'no redial before its back-off')
    clock.advance(1000)
    torrent.tick()
    assert.equal(await redialled, '10.0.0.12:7003')
    assert.deepEqual(dialled, ['10.0.0.12:7003'])
    await r.changed(() => torrent.stats().activity === 'seeding')
  } finally {
    await r.done()
  }
})

test('handover: the torrent\'s PEX offers a handed-over incoming peer\'s listen address to its other peers', async () => {
  const data = randomBytes(2 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const r = await rig(meta, { pex: true })
  try {
    const learntByA: string[] = []
    const learntByB: string[] = []
    await r.connect('10.0.0.13:51000', { greet: (w) => w.haveNone(), listenPort: 7004, pexLearnt: learntByA }, data, 'have-none')
    await r.connect('10.0.0.14:51000', { greet: (w) => w.haveNone(), listenPort: 7005, pexLearnt: learntByB }, data, 'have-none')
    const { torrent } = await r.torrent()
    assert.equal(torrent.peerInfo().length, 2)
    // Each hears of the other where it listens, never of the port it dialled from.
    await r.changed(() => learntByA.length > 0 && learntByB.length > 0)
    assert.deepEqual(learntByA, ['10.0.0.14:7005'])
    assert.deepEqual(learntByB, ['10.0.0.13:7004'])
  } finally {
    await r.done()
  }
})

test('availability log: a later bitfield replaces earlier haves; too many haves close the peer', () => {
  const wire = new Wire()
  const reasons: string[] = []
  const log = new AvailabilityLog(wire as unknown as CappedWire, (why) => reasons.push(why))
  wire.emit('have', 7)
  wire.emit('bitfield', { buffer: new Uint8Array([0x80]) })
  wire.emit('have', 3)
  const seen: unknown[] = []
  for (const ev of ['bitfield', 'have', 'unchoke', 'interested']) wire.on(ev, (x?: unknown) => seen.push([ev, ev === 'bitfield' ? Array.from((x as { buffer: Uint8Array }).buffer) : x]))
  log.replay({ peerExtendedHandshake: {}, peerChoking: false, peerInterested: true })
  assert.deepEqual(seen, [['bitfield', [0x80]], ['have', 3], ['unchoke', undefined], ['interested', undefined]])

  const flood = new AvailabilityLog(wire as unknown as CappedWire, (why) => reasons.push(why))
  for (let i = 0; i <= MAX_LOGGED_HAVES; i++) wire.emit('have', i)
  assert.deepEqual(reasons, ['too many have messages before the metadata'])
  flood.detach()
})
