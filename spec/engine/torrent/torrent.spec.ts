import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { Torrent } from '../../../lib/engine/torrent/torrent.ts'
import type { TorrentContext } from '../../../lib/engine/torrent/context.ts'
import { Peer, incomingWire, type PeerOptions } from '../../../lib/engine/wire/peer.ts'
import { createHasher } from '../../../lib/engine/disk/hasher.ts'
import { MAX_UPLOAD_QUEUE } from '../../../lib/engine/upload/upload-queue.ts'
import type { Metainfo } from '../../../lib/engine/contracts.ts'
import { MemoryStorage, metainfoOf, remotePeer, socketPair, testContext, v2MetainfoOf, type RemoteOptions } from '../../support/engine-fakes.ts'
import { v2Remote, type V2Remote } from '../../support/v2-remote.ts'

// The coordinator driven end to end without a network: its dial seam opens
// in-memory connections to remote peers made of real bittorrent-protocol wires.

const B = 16384

interface Rig {
  readonly torrent: Torrent
  readonly storage: MemoryStorage
  readonly remotes: Wire[]
  readonly dialled: string[]
  /** Resolves once `when` holds (checked at every status change and every few ms: bans, for one, change no status). */
  changed(when: () => boolean): Promise<void>
  done(): Promise<void>
}

const rig = async (meta: Metainfo, remote: (address: string) => Omit<RemoteOptions, 'meta'>, peers: string[], opts: { fill?: Uint8Array; ctx?: Partial<TorrentContext> } = {}): Promise<Rig> => {
  const folder = await mkdtemp(join(tmpdir(), 'torrent-spec-'))
  const storage = new MemoryStorage(meta.length, opts.fill)
  const hasher = createHasher({ workers: 0 })
  const remotes: Wire[] = []
  const dialled: string[] = []
  const waiters: { when: () => boolean; resolve: () => void }[] = []
  const ctx: TorrentContext = testContext(hasher, {
    changed() {
      for (const w of waiters.splice(0)) (w.when() ? w.resolve() : waiters.push(w))
    },
    dial: (host: string, port: number, o: PeerOptions) => {
      dialled.push(`${host}:${port}`)
      const [ours, theirs] = socketPair()
      remotes.push(remotePeer(theirs, { meta, ...remote(`${host}:${port}`) }))
      const peer = new Peer(ours, o)
      queueMicrotask(() => peer.sendHandshake())
      return peer
    },
    ...opts.ctx
  })
  const torrent = new Torrent('t1', meta, folder, storage, ctx, peers)
  return {
    torrent,
    storage,
    remotes,
    dialled,
    changed: (when) => new Promise<void>((resolve) => {
      if (when()) return resolve()
      const timer = setInterval(() => {
        if (!when()) return
        clearInterval(timer)
        resolve()
      }, 5)
      waiters.push({ when, resolve: () => (clearInterval(timer), resolve()) })
    }),
    done: async () => {
      await torrent.close()
      await hasher.close()
      await rm(folder, { recursive: true, force: true })
    }
  }
}

test('coordinator: downloads every piece from a seed over its dial seam, writes the bytes, then seeds', async () => {
  const data = randomBytes(5 * 2 * B + 1000)
  const meta = metainfoOf(data, 2 * B)
  const r = await rig(meta, () => ({ data }), ['10.0.0.2:6881'])
  try {
    await r.torrent.start()
    await r.changed(() => r.torrent.stats().activity === 'seeding')
    assert.deepEqual(r.dialled, ['10.0.0.2:6881'])
    assert.ok(r.storage.data.equals(data), 'storage holds the torrent bytes')
    const s = r.torrent.stats()
    assert.equal(s.piecesDone, meta.pieceCount)
    assert.equal(s.discarded, 0)
    assert.equal(r.torrent.contributed()['10.0.0.2:6881'], data.length)
  } finally {
    await r.done()
  }
})

test('coordinator: a piece with bad bytes from its sole sender is discarded and the sender banned; an honest peer completes it', async () => {
  const data = randomBytes(4 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const liar = '10.0.0.66:6881'
  const r = await rig(meta, (address) => ({ data, corrupt: address === liar ? () => true : undefined }), [liar])
  try {
    await r.torrent.start()
    await r.changed(() => r.torrent.bannedPeers().includes(liar))
    assert.ok(r.torrent.stats().discarded >= 2 * B, 'the bad piece counts as discarded')
    assert.equal(r.torrent.peerInfo().some((p) => p.address === liar), false, 'the liar is closed')
    // Banned addresses are never dialled again, whatever source names them.
    r.torrent.addPeerAddress(liar, 'tracker')
    r.torrent.addPeerAddress('10.0.0.3:6881', 'tracker')
    await r.changed(() => r.torrent.stats().activity === 'seeding')
    assert.ok(r.storage.data.equals(data))
    assert.equal(r.dialled.filter((a) => a === liar).length, 1)
  } finally {
    await r.done()
  }
})

test('coordinator: with the data on disk it checks, seeds, and answers a leecher\'s requests with the right bytes', async () => {
  const data = randomBytes(3 * 2 * B + 5)
  const meta = metainfoOf(data, 2 * B)
  const r = await rig(meta, () => ({}), [], { fill: data })
  try {
    await r.torrent.start()
    assert.equal(r.torrent.stats().activity, 'seeding')
    assert.equal(r.torrent.restoredFrom().source, 'check')
    // A leecher connects to us: the listener hands its socket and wire over.
    const [ours, theirs] = socketPair({ address: '10.0.0.9', port: 5000 })
    const wire = incomingWire(ours)
    const leecher = new Wire()
    theirs.pipe(leecher).pipe(theirs)
    const got = new Promise<Buffer>((resolve, reject) => {
      leecher.on('unchoke', () => leecher.request(2, B, B, (err: Error | null, block?: Uint8Array) => (err ? reject(err) : resolve(Buffer.from(block!)))))
    })
    leecher.handshake(meta.infoHash, randomBytes(20).toString('hex'))
    assert.equal(r.torrent.acceptIncoming(ours, wire, randomBytes(20).toString('hex')), true)
    leecher.on('bitfield', () => leecher.interested())
    const block = await got
    assert.ok(block.equals(data.subarray(2 * 2 * B + B, 2 * 2 * B + 2 * B)), 'the block is the bytes at its place')
    assert.equal(r.torrent.stats().upTotal, B)
  } finally {
    await r.done()
  }
})

test('coordinator: a write error fails the torrent with the reason and closes its files', async () => {
  const data = randomBytes(2 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const r = await rig(meta, () => ({ data }), ['10.0.0.2:6881'])
  r.storage.failWrites = true
  try {
    await r.torrent.start()
    await r.changed(() => r.torrent.stats().activity.startsWith('error'))
    assert.match(r.torrent.stats().activity, /^error: cannot write: disk full/)
    assert.equal(r.torrent.accepting, false)
  } finally {
    await r.done()
  }
})

test('coordinator: a seed\'s Suggest Piece (BEP 6) decides which of the equally rare pieces is requested first', async () => {
  const data = randomBytes(16 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const suggested = 13
  const requests: number[] = []
  const r = await rig(meta, () => ({}), ['10.0.0.2:6881'], {
    ctx: {
      dial: (_host: string, _port: number, o: PeerOptions) => {
        const [ours, theirs] = socketPair()
        const wire = new Wire()
        theirs.pipe(wire).pipe(theirs)
        wire.on('error', () => {})
        wire.on('handshake', (infoHash: string) => {
          wire.handshake(infoHash, randomBytes(20).toString('hex'), { fast: true })
          wire.suggest(suggested)
          wire.haveAll()
        })
        wire.on('interested', () => wire.unchoke())
        wire.on('request', (piece: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) => {
          requests.push(piece)
          respond(null, Buffer.from(data.subarray(piece * 2 * B + offset, piece * 2 * B + offset + length)))
        })
        const peer = new Peer(ours, o)
        queueMicrotask(() => peer.sendHandshake())
        return peer
      }
    }
  })
  try {
    await r.torrent.start()
    await r.changed(() => r.torrent.stats().activity === 'seeding')
    assert.deepEqual(requests.slice(0, 2), [suggested, suggested], `first requests: ${requests.slice(0, 4)}`)
    assert.ok(r.storage.data.equals(data))
  } finally {
    await r.done()
  }
})

// ---------------------------------------------------------------------------
// v2 block-level blame: a piece fails with an honest sender and a liar.

const v2Rig = async (hashes: boolean) => {
  const data = randomBytes(6 * 4 * B)
  const meta = await v2MetainfoOf(data, 4 * B)
  const remotes = new Map<string, V2Remote>()
  const r = await rig(meta, () => ({}), ['10.0.0.2:6881', '10.0.0.66:6881'], {
    ctx: {
      dial: (host: string, port: number, o: PeerOptions) => {
        const [ours, theirs] = socketPair()
        const address = `${host}:${port}`
        remotes.set(address, v2Remote(theirs, meta, data, { liar: host === '10.0.0.66', hashes }))
        const peer = new Peer(ours, o)
        queueMicrotask(() => peer.sendHandshake())
        return peer
      }
    }
  })
  const honest = () => remotes.get('10.0.0.2:6881')!
  const honestNotBanned = () => !r.torrent.bannedPeers().some((x) => x === '10.0.0.2:6881' || x === honest().peerId)
  return { r, data, meta, honest, liar: () => remotes.get('10.0.0.66:6881')!, honestNotBanned }
}

test('coordinator, v2: a piece failing with two senders names the liar from the honest peer\'s leaf hashes, before the piece is fetched again', async () => {
  const { r, data, honest, liar, honestNotBanned } = await v2Rig(true)
  try {
    await r.torrent.start()
    await r.changed(() => r.torrent.bannedPeers().includes('10.0.0.66:6881'))
    const bad = liar().corrupted
    assert.notEqual(bad, null)
    // The failed piece is not back: its re-download waits at the honest peer, so the ban came from the leaves.
    assert.equal(r.torrent.picker.have(bad!), false)
    assert.ok(honestNotBanned(), 'the honest sender is never struck')
    honest().release()
    await r.changed(() => r.torrent.stats().activity === 'seeding')
    assert.ok(r.storage.data.equals(data), 'storage holds the torrent bytes')
    assert.equal(r.torrent.picker.have(bad!), true)
    assert.ok(honestNotBanned())
  } finally {
    await r.done()
  }
})

test('coordinator, v2: with no peer giving leaf hashes, the liar is named once the failed piece passes (the v1 way)', async () => {
  const { r, data, honest, honestNotBanned } = await v2Rig(false)
  try {
    await r.torrent.start()
    // The failed piece's re-download reached the honest peer, which holds it: no verdict is possible yet.
    await r.changed(() => honest().held.length > 0)
    assert.deepEqual(r.torrent.bannedPeers(), [], 'nobody is struck before the piece passes')
    honest().release()
    await r.changed(() => r.torrent.stats().activity === 'seeding' && r.torrent.bannedPeers().length > 0)
    assert.ok(r.torrent.bannedPeers().includes('10.0.0.66:6881'), 'the liar, once the piece passed')
    assert.ok(honestNotBanned(), 'and only it')
    assert.ok(r.storage.data.equals(data))
  } finally {
    await r.done()
  }
})

/** A seed that holds every request until none has come for 30 ms, then answers them all; it records the most it held. */
const batchingSeed = (data: Uint8Array, pieceLength: number, reqq: number | null, seen: { held: number; ourReqq: unknown }) =>
  (_host: string, _port: number, o: PeerOptions): Peer => {
    const [ours, theirs] = socketPair()
    const wire = new Wire()
    theirs.pipe(wire).pipe(theirs)
    wire.on('error', () => {})
    if (reqq !== null) wire.extendedHandshake['reqq'] = reqq
    wire.on('extended', (name: string, body: unknown) => {
      if (name === 'handshake') seen.ourReqq = (body as { reqq?: unknown }).reqq
    })
    wire.on('handshake', (infoHash: string) => {
      wire.handshake(infoHash, randomBytes(20).toString('hex'))
      const bits = new Uint8Array(Math.ceil(data.length / pieceLength / 8)).fill(0xff)
      wire.bitfield(bits)
    })
    wire.on('interested', () => wire.unchoke())
    let held: (() => void)[] = []
    let quiet: ReturnType<typeof setTimeout> | undefined
    wire.on('request', (piece: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) => {
      held.push(() => respond(null, Buffer.from(data.subarray(piece * pieceLength + offset, piece * pieceLength + offset + length))))
      seen.held = Math.max(seen.held, held.length)
      clearTimeout(quiet)
      quiet = setTimeout(() => { for (const answer of held.splice(0)) answer() }, 30)
    })
    const peer = new Peer(ours, o)
    queueMicrotask(() => peer.sendHandshake())
    return peer
  }

test('coordinator: never more requests outstanding with a peer than its reqq; our extended handshake says our own', async () => {
  const data = randomBytes(64 * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  for (const reqq of [8, null]) {
    const seen = { held: 0, ourReqq: undefined as unknown }
    const r = await rig(meta, () => ({}), ['10.0.0.2:6881'], { ctx: { dial: batchingSeed(data, 2 * B, reqq, seen) } })
    try {
      await r.torrent.start()
      await r.changed(() => r.torrent.stats().activity === 'seeding')
      assert.ok(r.storage.data.equals(data))
      assert.equal(seen.ourReqq, MAX_UPLOAD_QUEUE)
      // With no reqq the first batch is the new peer's whole starting queue.
      if (reqq === null) assert.ok(seen.held > 8, `held ${seen.held} without a reqq`)
      else assert.ok(seen.held <= reqq && seen.held > 0, `held ${seen.held} with reqq ${reqq}`)
    } finally {
      await r.done()
    }
  }
})
