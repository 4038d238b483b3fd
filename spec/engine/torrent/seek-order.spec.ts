import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { Torrent } from '../../../lib/engine/torrent/torrent.ts'
import type { TorrentContext } from '../../../lib/engine/torrent/context.ts'
import { Peer, type PeerOptions } from '../../../lib/engine/wire/peer.ts'
import { createHasher } from '../../../lib/engine/disk/hasher.ts'
import type { Metainfo } from '../../../lib/engine/contracts.ts'
import { MemoryStorage, metainfoOf, socketPair, testContext } from '../../support/engine-fakes.ts'

// The coordinator against one seeder that answers requests first come, first
// served, one block when the test says: a slow swarm where a seek's blocks
// would wait behind everything asked before it.

const B = 16384
const PIECE = 4 * B

/** A seeder of `data` that queues requests in arrival order and serves them on demand; it logs requests and cancels as they arrive. */
class GatedSeeder {
  readonly log: string[] = []
  private readonly queue: { piece: number; offset: number; length: number; respond: (err: Error | null, buf?: Uint8Array) => void }[] = []
  private waiters: (() => void)[] = []
  constructor(
    readonly wire: Wire,
    private readonly meta: Metainfo,
    private readonly data: Uint8Array,
  ) {
    wire.on('handshake', (infoHash: string) => {
      wire.handshake(infoHash, randomBytes(20).toString('hex'))
      const bits = new Uint8Array(Math.ceil(meta.pieceCount / 8))
      for (let i = 0; i < meta.pieceCount; i++) bits[i >> 3]! |= 0x80 >> (i & 7)
      wire.bitfield(bits)
    })
    wire.on('interested', () => wire.unchoke())
    wire.on('request', (piece: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) => {
      this.log.push(`request ${piece}/${offset / B}`)
      this.queue.push({ piece, offset, length, respond })
      this.notify()
    })
    wire.on('cancel', (piece: number, offset: number) => {
      this.log.push(`cancel ${piece}/${offset / B}`)
      const i = this.queue.findIndex((q) => q.piece === piece && q.offset === offset)
      if (i >= 0) this.queue.splice(i, 1)
      this.notify()
    })
    wire.on('error', () => {})
  }

  /** Pieces of the queued requests, in the order they are served. */
  queued(): number[] {
    return this.queue.map((q) => q.piece)
  }

  /** Serves the oldest queued request; returns its piece. */
  serveOne(): number {
    const q = this.queue.shift()!
    const at = q.piece * this.meta.pieceLength + q.offset
    q.respond(null, Buffer.from(this.data.subarray(at, at + q.length)))
    this.log.push(`served ${q.piece}/${q.offset / B}`)
    return q.piece
  }

  /** Resolves once `when` holds (checked at each request or cancel, and every few ms). */
  until(when: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      let done = false
      const check = (): void => {
        if (done) return
        if (!when()) return void this.waiters.push(check)
        done = true
        clearInterval(timer)
        resolve()
      }
      const timer = setInterval(check, 5)
      check()
    })
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w()
  }
}

test('coordinator: a seek asked of a seeder holding a queue of other blocks: the nearest ones ahead are cancelled, the seek’s blocks served first', async () => {
  const data = randomBytes(256 * PIECE)
  const meta = metainfoOf(data, PIECE, 'video.webm')
  const folder = await mkdtemp(join(tmpdir(), 'seek-order-'))
  const hasher = createHasher({ workers: 0 })
  let seeder: GatedSeeder | undefined
  const ctx: TorrentContext = testContext(hasher, {
    requestTimeout: 600_000,
    dial: (_host: string, _port: number, o: PeerOptions) => {
      const [ours, theirs] = socketPair()
      const wire = new Wire()
      theirs.pipe(wire).pipe(theirs)
      seeder = new GatedSeeder(wire, meta, data)
      const peer = new Peer(ours, o)
      queueMicrotask(() => peer.sendHandshake())
      return peer
    },
  })
  const torrent = new Torrent('t1', meta, folder, new MemoryStorage(meta.length), ctx, ['10.0.0.2:6881'])
  try {
    await torrent.start()
    const s = await (async () => {
      for (;;) {
        if (seeder !== undefined) return seeder
        await new Promise<void>((r) => setTimeout(r, 5))
      }
    })()
    // no reader yet: the pipeline asks in its normal order; two good pieces make
    // the peer trusted (a full queue) and its rate measured
    for (let i = 0; i < 12; i++) {
      await s.until(() => s.queued().length > 0)
      s.serveOne()
    }
    await s.until(() => s.queued().length >= 32)
    // the player seeks to a piece nobody has asked for yet
    const queuedBefore = s.queued()
        const seekPiece = [...Array(meta.pieceCount).keys()].reverse().find((p) => !queuedBefore.includes(p) && !s.log.some((e) => e.startsWith(`request ${p}/`)))!
    assert.ok(seekPiece !== undefined, 'a piece not asked yet')
    const before = s.log.length
    const seek = torrent.streams().createReadStream(0, { start: seekPiece * PIECE })
    seek.on('error', () => {})
    const got: Buffer[] = []
    seek.on('data', (c: Buffer) => got.push(c))
    // the pipeline answers the seek at once (cancels, requests: one batch of messages)
    await s.until(() => s.log.length > before)
    await new Promise<void>((r) => setImmediate(r))
    const since = s.log.slice(before)
    assert.ok(since.includes(`request ${seekPiece}/3`), `the seek's piece is asked at once: ${since.join(', ')}`)
    const firstAsk = since.indexOf(`request ${seekPiece}/0`)
    // the blocks in its way are cancelled before its blocks are asked
    const cancels = since.map((e, i) => (e.startsWith('cancel') ? i : -1)).filter((i) => i >= 0)
    assert.ok(cancels.length > 0 && cancels.every((i) => i < firstAsk), `blocks ahead are cancelled first: ${since.join(', ')}`)
    // in the seeder's queue, what is left ahead of the seek's piece is the oldest
    // few of the queue it found (what may be on the wire already), nothing newer
    const q = s.queued()
    const ahead = q.slice(0, q.lastIndexOf(seekPiece)).filter((p) => p !== seekPiece)
    assert.deepEqual(ahead, queuedBefore.slice(0, ahead.length), `queue: ${q}; log: ${since.join(', ')}`)
    assert.ok(ahead.length <= queuedBefore.length / 4, `${ahead.length} of ${queuedBefore.length} left ahead`)
    // served first come, first served: the seek's four blocks come before the rest of what was queued ahead of them
    const served: number[] = []
    while (served.filter((p) => p === seekPiece).length < 4) {
      await s.until(() => s.queued().length > 0)
      served.push(s.serveOne())
    }
    assert.deepEqual(served.filter((p) => p !== seekPiece), ahead, `served: ${served}`)
    // and the reader gets the seek's bytes, the right ones
    await new Promise<void>((resolve) => {
      const check = (): void => (Buffer.concat(got).length >= PIECE ? resolve() : void setTimeout(check, 5))
      check()
    })
    assert.ok(Buffer.concat(got).subarray(0, PIECE).equals(Buffer.from(data.subarray(seekPiece * PIECE, (seekPiece + 1) * PIECE))))
    seek.destroy()
  } finally {
    await torrent.close()
    await hasher.close()
    await rm(folder, { recursive: true, force: true })
  }
})
