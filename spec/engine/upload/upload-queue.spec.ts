import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import type net from 'node:net'
import type Wire from 'bittorrent-protocol'
import { UploadQueue, MAX_UPLOAD_QUEUE, UPLOAD_BUFFER, type UploadPeer } from '../../../lib/engine/upload/upload-queue.ts'
import { PiecePicker } from '../../../lib/engine/download/picker.ts'
import { PendingIo } from '../../../lib/engine/torrent/pending-io.ts'
import { MemoryStorage, ManualClock } from '../../support/engine-fakes.ts'

const B = 16384

/** A peer whose wire has no internals: answers go through `respond`. */
const fakePeer = () => {
  const socket = Object.assign(new EventEmitter(), { destroyed: false, writable: true, writableLength: 0, cork() {}, uncork() {}, write: () => true })
  const peer = {
    closed: false as boolean,
    reason: '',
    queuedBytes: 0,
    wire: { amChoking: false } as unknown as Wire,
    socket: socket as unknown as net.Socket,
    outgoingBytes: () => peer.queuedBytes,
    close(reason: string) {
      peer.closed = true
      peer.reason = reason
    }
  }
  return peer satisfies UploadPeer
}

const rig = (o: { wait?: number } = {}) => {
  const data = randomBytes(4 * 4 * B)
  const picker = new PiecePicker({ pieceCount: 4, pieceLength: 4 * B, length: data.length })
  for (let i = 0; i < 3; i++) picker.verified(i)
  const storage = new MemoryStorage(data.length, data)
  const io = new PendingIo()
  let sent = 0
  let wait = o.wait ?? 0
  const queue = new UploadQueue({
    pieces: picker,
    storage,
    throttle: { take: () => wait },
    io,
    now: new ManualClock().now,
    sent: (n) => (sent += n),
    closed: () => false
  })
  return { data, queue, io, sent: () => sent, open: () => (wait = 0) }
}

test('upload queue: answers a good request with the bytes at its place', async () => {
  const r = rig()
  const p = fakePeer()
  const answer = new Promise<Uint8Array>((resolve, reject) => r.queue.request(p, 1, B, B, (err, buf) => (err ? reject(err) : resolve(buf!))))
  const buf = await answer
  assert.ok(Buffer.from(buf).equals(r.data.subarray(4 * B + B, 4 * B + 2 * B)))
  assert.equal(r.sent(), B)
})

test('upload queue: a request we cannot honestly answer closes the peer', () => {
  const r = rig()
  for (const [piece, offset, length] of [[3, 0, B], [9, 0, B], [0, 0, 0], [0, 0, 256 * 1024], [0, 3 * B + 1, B], [0, -1, B]] as const) {
    const p = fakePeer()
    r.queue.request(p, piece, offset, length, () => assert.fail('answered'))
    assert.equal(p.reason, 'bad request', `${piece}/${offset}/${length}`)
  }
})

test('upload queue: reads pause while the peer has UPLOAD_BUFFER unsent and resume on drain; too deep a queue closes it', async () => {
  const r = rig()
  const p = fakePeer()
  p.queuedBytes = UPLOAD_BUFFER
  let answered = 0
  r.queue.request(p, 0, 0, B, () => answered++)
  await r.io.idle()
  assert.equal(answered, 0)
  assert.equal(r.queue.queued(p), 1)
  p.queuedBytes = 0
  p.socket.emit('drain')
  await r.io.idle()
  assert.equal(answered, 1)
  p.queuedBytes = UPLOAD_BUFFER
  for (let i = 0; i <= MAX_UPLOAD_QUEUE; i++) r.queue.request(p, 0, 0, B, () => {})
  assert.equal(p.reason, `more than ${MAX_UPLOAD_QUEUE} queued requests`)
})

test('upload queue: without budget blocks wait in FIFO order; a choked peer\'s queued requests are not read', async () => {
  const r = rig({ wait: 1 })
  const p = fakePeer()
  const order: number[] = []
  let second!: () => void
  const both = new Promise<void>((resolve) => (second = resolve))
  r.queue.request(p, 0, 0, B, () => order.push(0))
  r.queue.request(p, 0, B, B, () => (order.push(1), second()))
  await r.io.idle()
  assert.deepEqual(order, [], 'held for budget')
  r.open()
  await both // the pacing timer fires once budget is back
  assert.deepEqual(order, [0, 1])
  const choked = fakePeer()
  ;(choked.wire as unknown as { amChoking: boolean }).amChoking = true
  r.queue.request(choked, 0, 0, B, () => assert.fail('a choked peer gets no answer'))
  await r.io.idle()
  assert.equal(r.queue.queued(choked), 0)
  r.queue.clear()
})

test('upload queue: a choked fast peer\'s requests for its allowed-fast pieces are served, the others are not (BEP 6)', async () => {
  const r = rig()
  const p = fakePeer()
  Object.assign(p.wire, { amChoking: true, hasFast: true, allowedFastSet: [2] })
  const served = new Promise<Uint8Array>((resolve, reject) => r.queue.request(p, 2, B, B, (err, buf) => (err ? reject(err) : resolve(buf!))))
  r.queue.request(p, 1, 0, B, () => assert.fail('not an allowed-fast piece'))
  const buf = await served
  await r.io.idle()
  assert.ok(Buffer.from(buf).equals(r.data.subarray(2 * 4 * B + B, 2 * 4 * B + 2 * B)))
  assert.equal(r.sent(), B)
  assert.equal(r.queue.queued(p), 0)
  // Without the fast extension a choke drops them all (BEP 3).
  const plain = fakePeer()
  Object.assign(plain.wire, { amChoking: true, hasFast: false, allowedFastSet: [2] })
  r.queue.request(plain, 2, 0, B, () => assert.fail('a choked peer without the fast extension gets no answer'))
  await r.io.idle()
  assert.equal(r.sent(), B)
  r.queue.clear()
})
