import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { Torrent } from '../../../lib/engine/torrent/torrent.ts'
import { Peer, type PeerOptions } from '../../../lib/engine/wire/peer.ts'
import { createHasher } from '../../../lib/engine/disk/hasher.ts'
import { FAST_REJECT_RETRY } from '../../../lib/engine/wire/allowed-fast.ts'
import { MemoryStorage, metainfoOf, socketPair, testContext } from '../../support/engine-fakes.ts'

// A seed that never unchokes us (BEP 6), driven message by message as
// libtorrent 2.0 does it with unchoke_slots_limit 0: Have All, its
// allowed-fast set once we say interested, Reject for anything else while
// choking, and a Reject for each queued request we cancel.

const B = 16384
const REQUEST_TIMEOUT = 30_000

interface ChokingSeed {
  /** Requests it holds unanswered, oldest first. */
  readonly held: { piece: number; offset: number; length: number }[]
  /** Every request it received, as `piece:offset`. */
  readonly requested: string[]
  /** Blocks it sent, as `piece:offset`. */
  readonly served: string[]
  /** Rejects it sent, as `piece:offset`. */
  readonly rejected: string[]
  /** Hold new requests (true) or serve them at once (false). */
  hold: boolean
  /** Serve what it holds now. */
  release(): void
  /** Reject one request of ours for an allowed-fast piece (as a seed short of resources may). */
  rejectNext: boolean
}

const chokingSeed = (data: Uint8Array, pieceLength: number, allowed: number[]) => {
  const seed: ChokingSeed = { held: [], requested: [], served: [], rejected: [], hold: true, rejectNext: false, release: () => {} }
  const dial = (_host: string, _port: number, o: PeerOptions): Peer => {
    const [ours, theirs] = socketPair()
    const wire = new Wire()
    theirs.pipe(wire).pipe(theirs)
    wire.on('error', () => {})
    const answers = new Map<string, (err: Error | null, buf?: Uint8Array) => void>()
    const serve = (piece: number, offset: number, length: number): void => {
      const respond = answers.get(`${piece}:${offset}:${length}`)
      answers.delete(`${piece}:${offset}:${length}`)
      seed.served.push(`${piece}:${offset}`)
      respond?.(null, Buffer.from(data.subarray(piece * pieceLength + offset, piece * pieceLength + offset + length)))
    }
    seed.release = () => { for (const r of seed.held.splice(0)) serve(r.piece, r.offset, r.length) }
    wire.on('handshake', (infoHash: string) => {
      wire.handshake(infoHash, randomBytes(20).toString('hex'), { fast: true })
      wire.haveAll()
    })
    // libtorrent sends its allowed-fast set when the peer first says interested.
    wire.once('interested', () => { for (const p of allowed) wire.allowedFast(p) })
    wire.on('request', (piece: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) => {
      seed.requested.push(`${piece}:${offset}`)
      answers.set(`${piece}:${offset}:${length}`, respond)
      if (seed.rejectNext) {
        seed.rejectNext = false
        answers.delete(`${piece}:${offset}:${length}`)
        seed.rejected.push(`${piece}:${offset}`)
        return respond(new Error('not now'))
      }
      if (seed.hold) seed.held.push({ piece, offset, length })
      else serve(piece, offset, length)
    })
    // BEP 6: a cancelled request still queued is answered with a Reject.
    wire.on('cancel', (piece: number, offset: number, length: number) => {
      const i = seed.held.findIndex((r) => r.piece === piece && r.offset === offset && r.length === length)
      if (i < 0) return
      seed.held.splice(i, 1)
      answers.delete(`${piece}:${offset}:${length}`)
      seed.rejected.push(`${piece}:${offset}`)
      wire.reject(piece, offset, length)
    })
    const peer = new Peer(ours, o)
    queueMicrotask(() => peer.sendHandshake())
    return peer
  }
  return { seed, dial }
}

const rig = async (pieces: number, allowed: number[]) => {
  const data = randomBytes(pieces * 2 * B)
  const meta = metainfoOf(data, 2 * B)
  const { seed, dial } = chokingSeed(data, 2 * B, allowed)
  const folder = await mkdtemp(join(tmpdir(), 'fast-choked-'))
  const storage = new MemoryStorage(meta.length)
  const hasher = createHasher({ workers: 0 })
  const clock = { skew: 0 }
  const waiters: (() => void)[] = []
  const ctx = testContext(hasher, {
    changed() { for (const w of waiters.splice(0)) w() },
    requestTimeout: REQUEST_TIMEOUT,
    // Real time moved forward by hand (a peer's own timestamps are real time).
    now: () => Date.now() + clock.skew,
    dial
  })
  const torrent = new Torrent('t1', meta, folder, storage, ctx, ['10.0.0.2:6881'])
  /** Resolves once `when` holds, checked at every status change and every few ms. */
  const until = (when: () => boolean): Promise<void> => new Promise((resolve) => {
    const check = (): void => {
      if (when()) return resolve()
      waiters.push(check)
      setTimeout(check, 5)
    }
    check()
  })
  const have = (p: number): boolean => torrent.picker.have(p)
  const done = async (): Promise<void> => {
    await torrent.close()
    await hasher.close()
    await rm(folder, { recursive: true, force: true })
  }
  return { torrent, seed, clock, until, have, data, storage, meta, done }
}

test('a choking seed\'s Rejects that answer our timed-out requests refuse nothing: the allowed-fast pieces asked again are fetched', { timeout: 20_000 }, async () => {
  const allowed = [3, 11]
  const r = await rig(16, allowed)
  try {
    await r.torrent.start()
    // The seed holds our first requests, for the blocks of an allowed-fast piece.
    await r.until(() => r.seed.held.length === 2)
    const first = r.seed.held.map((h) => `${h.piece}:${h.offset}`)
    assert.ok(allowed.includes(r.seed.held[0]!.piece), `asked for ${first}`)
    // It stalls past the request timeout: one tick cancels every request and asks
    // for the same blocks again at once; the seed rejects the cancelled ones
    // (still queued) and serves the new ones.
    r.seed.hold = false
    r.clock.skew += REQUEST_TIMEOUT + 1000
    r.torrent.tick()
    await r.until(() => allowed.every(r.have))
    assert.deepEqual(r.seed.rejected, first, 'each cancelled request was rejected')
    assert.deepEqual(r.seed.requested.filter((k) => first.includes(k)), [...first, ...first], 'and asked for once more')
    assert.equal(r.seed.requested.length, 6, 'every other block once')
    for (const p of allowed) assert.ok(r.storage.data.subarray(p * 2 * B, (p + 1) * 2 * B).equals(r.data.subarray(p * 2 * B, (p + 1) * 2 * B)))
    assert.equal(r.torrent.peerInfo().length, 1, 'the seed stays connected')
    const others = Array.from({ length: r.meta.pieceCount }, (_, i) => i).filter((i) => !allowed.includes(i))
    assert.ok(others.every((p) => !r.have(p)), 'nothing outside its allowed-fast set')
  } finally {
    await r.done()
  }
})

test('an allowed-fast piece a choking seed rejects is asked of it again later, not never', { timeout: 20_000 }, async () => {
  const r = await rig(16, [5])
  try {
    r.seed.hold = false
    r.seed.rejectNext = true
    await r.torrent.start()
    await r.until(() => r.seed.rejected.length === 1)
    // One block of piece 5 was refused, the other served: the refused one waits
    // out the retry delay (ticks before it ask for nothing), then is fetched.
    await r.until(() => r.seed.served.length === 1)
    r.torrent.tick()
    assert.equal(r.seed.requested.length, 2, 'not asked again at once')
    assert.equal(r.have(5), false)
    r.clock.skew += FAST_REJECT_RETRY
    r.torrent.tick()
    await r.until(() => r.have(5))
    assert.equal(r.seed.requested.length, 3)
    assert.deepEqual(r.seed.requested.slice(2), [r.seed.rejected[0]], 'the refused block, once more')
  } finally {
    await r.done()
  }
})
