/**
 * lib/engine/wire/peer.ts over loopback: handshake through the listener, infohash
 * check, batched requests answered, the message size cap, and close() being
 * reported exactly once.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { connectPeer, adoptIncoming } from '../../../lib/engine/wire/dial.ts'
import { MAX_MESSAGE, MIN_DEPTH, START_DEPTH, Peer, type PeerHandler } from '../../../lib/engine/wire/peer.ts'
import { socketPair } from '../../support/engine-fakes.ts'
import { listen } from '../../../lib/engine/client/listener.ts'
import { pollUntil } from '../../support/peers/wait.ts'

const hex = (n: number): string => randomBytes(n).toString('hex')

interface Recorder extends PeerHandler {
  readonly log: string[]
  readonly blocks: Array<[number, number, number]>
  readonly closes: string[]
  ready: Peer | null
}

const recorder = (serve?: (piece: number, offset: number, length: number) => Uint8Array): Recorder => {
  const r: Recorder = {
    log: [],
    blocks: [],
    closes: [],
    ready: null,
    onReady: (p) => {
      r.ready = p
      r.log.push('ready')
    },
    onBitfield: () => r.log.push('bitfield'),
    onHave: (_p, i) => r.log.push(`have ${i}`),
    onChoke: () => r.log.push('choke'),
    onUnchoke: () => r.log.push('unchoke'),
    onInterested: (p) => {
      r.log.push('interested')
      p.wire.unchoke()
    },
    onUninterested: () => r.log.push('uninterested'),
    onBlock: (p, piece, offset, data) => {
      // As the torrent does for a block it accepts: the peer's pipeline shrinks only then.
      p.delivered(data.length)
      r.blocks.push([piece, offset, data.length])
    },
    onRequest: (_p, piece, offset, length, respond) => respond(null, serve ? serve(piece, offset, length) : new Uint8Array(length)),
    onClose: (_p, reason) => r.closes.push(reason)
  }
  return r
}

const pair = async (t: { after(fn: () => unknown): void }, infoHashes: [string, string]) => {
  const pieceCount = 8
  const server = recorder((piece, offset, length) => new Uint8Array(length).fill((piece + offset) & 0xff))
  let incoming: Peer | null = null
  const l = await listen(0, '127.0.0.1', {
    adopt: (ih, socket, wire, remoteId) => {
      if (ih !== infoHashes[0]) return false
      incoming = adoptIncoming(socket, wire, remoteId, {
        infoHash: ih,
        peerId: hex(20),
        pieceCount,
        source: 'incoming',
        address: `${socket.remoteAddress}:${socket.remotePort}`,
        handler: server
      })
      return true
    },
    resolve: () => undefined
  })
  t.after(() => l.close())
  const client = recorder()
  const out = connectPeer('127.0.0.1', l.port, {
    infoHash: infoHashes[1],
    peerId: hex(20),
    pieceCount,
    source: 'manual',
    address: `127.0.0.1:${l.port}`,
    handler: client
  })
  t.after(() => {
    out.close('test over')
    ;(incoming as Peer | null)?.close('test over')
  })
  return { server, client, out, incoming: () => incoming }
}

test('handshake, interest, unchoke and a batch of requests answered in full', { timeout: 10000 }, async (t) => {
  const ih = hex(20)
  const { client, out } = await pair(t, [ih, ih])
  await pollUntil(() => client.ready !== null, { timeoutMs: 5000, what: 'handshake' })
  out.wire.interested()
  await pollUntil(() => client.log.includes('unchoke'), { timeoutMs: 5000, what: 'unchoke' })
  const reqs = Array.from({ length: 40 }, (_, i) => ({ piece: i % 8, offset: Math.floor(i / 8) * 16384, length: 16384 }))
  out.requestMany(reqs)
  assert.equal(out.inflight, 40)
  await pollUntil(() => client.blocks.length === 40, { timeoutMs: 5000, what: '40 blocks' })
  assert.deepEqual(
    client.blocks.map((b) => `${b[0]}/${b[1]}`).sort(),
    reqs.map((r) => `${r.piece}/${r.offset}`).sort()
  )
  assert.equal(out.inflight, 0)
})

test('a peer answering for another infohash is dropped', { timeout: 10000 }, async (t) => {
  const { client, out } = await pair(t, [hex(20), hex(20)])
  await pollUntil(() => client.closes.length > 0, { timeoutMs: 5000, what: 'close' })
  assert.equal(client.ready, null)
  assert.ok(out.closed)
  assert.equal(client.closes.length, 1, 'onClose reported once')
})

test('a length prefix over the cap closes the connection without buffering it', { timeout: 10000 }, async (t) => {
  const ih = hex(20)
  const received: string[] = []
  // A raw server that handshakes properly, then announces a giant message.
  const srv = net.createServer((sock) => {
    sock.once('data', () => {
      const hs = Buffer.alloc(68)
      hs[0] = 19
      hs.write('BitTorrent protocol', 1)
      Buffer.from(ih, 'hex').copy(hs, 28)
      randomBytes(20).copy(hs, 48)
      const giant = Buffer.alloc(4)
      giant.writeUInt32BE(MAX_MESSAGE + 1)
      sock.write(Buffer.concat([hs, giant, Buffer.alloc(1024)]))
    })
    sock.on('error', () => {})
    sock.on('close', () => received.push('closed'))
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => srv.close(() => r())))
  const handler = recorder()
  const port = (srv.address() as net.AddressInfo).port
  const p = connectPeer('127.0.0.1', port, { infoHash: ih, peerId: hex(20), pieceCount: 4, source: 'manual', address: `127.0.0.1:${port}`, handler })
  t.after(() => p.close('test over'))
  await pollUntil(() => handler.closes.length > 0, { timeoutMs: 5000, what: 'close' })
  assert.match(handler.closes[0]!, /exceeds the cap/)
  assert.ok(handler.ready !== null, 'the handshake itself was fine')
})

/** A raw server that handshakes for `ih`, then runs `then` on the socket. */
const rawPeer = async (t: { after(fn: () => unknown): void }, ih: string, then: (sock: net.Socket) => void): Promise<number> => {
  const socks: net.Socket[] = []
  const srv = net.createServer((sock) => {
    socks.push(sock)
    sock.once('data', () => {
      const hs = Buffer.alloc(68)
      hs[0] = 19
      hs.write('BitTorrent protocol', 1)
      Buffer.from(ih, 'hex').copy(hs, 28)
      randomBytes(20).copy(hs, 48)
      sock.write(hs)
      then(sock)
    })
    sock.on('error', () => {})
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  // Our side first: close() waits for every accepted connection to end.
  t.after(() => new Promise<void>((r) => { socks.forEach((s) => s.destroy()); srv.close(() => r()) }))
  return (srv.address() as net.AddressInfo).port
}

test('a message body trickled below the minimum rate past the stall timeout closes the peer', { timeout: 15000 }, async (t) => {
  const ih = hex(20)
  const timers: NodeJS.Timeout[] = []
  t.after(() => timers.forEach(clearInterval))
  // A 16 KiB piece message announced, then 10 bytes every 100 ms (100 B/s, under 1 KiB/s).
  const port = await rawPeer(t, ih, (sock) => {
    const head = Buffer.alloc(5)
    head.writeUInt32BE(9 + 16384)
    head[4] = 7
    sock.write(head)
    timers.push(setInterval(() => { if (!sock.destroyed) sock.write(Buffer.alloc(10)) }, 100))
  })
  const handler = recorder()
  const p = connectPeer('127.0.0.1', port, { infoHash: ih, peerId: hex(20), pieceCount: 4, source: 'manual', address: `127.0.0.1:${port}`, handler, bodyStallTimeout: 1500 })
  t.after(() => p.close('test over'))
  await pollUntil(() => handler.closes.length > 0, { timeoutMs: 10000, what: 'close' })
  assert.match(handler.closes[0]!, /trickled/)
})

test('a message body arriving slowly but above the minimum rate is kept', { timeout: 15000 }, async (t) => {
  const ih = hex(20)
  const timers: NodeJS.Timeout[] = []
  t.after(() => timers.forEach(clearInterval))
  // An extended message of 8 KiB + 2, at 4 KiB/s: complete after about 2 s, beyond the 1.5 s stall timeout.
  const port = await rawPeer(t, ih, (sock) => {
    const head = Buffer.alloc(6)
    head.writeUInt32BE(2 + 8192)
    head[4] = 20
    head[5] = 99
    sock.write(head)
    let sent = 0
    const timer = setInterval(() => {
      if (sock.destroyed || sent >= 8192) return clearInterval(timer)
      sock.write(Buffer.alloc(512, 0x20))
      sent += 512
    }, 125)
    timers.push(timer)
  })
  const handler = recorder()
  const p = connectPeer('127.0.0.1', port, { infoHash: ih, peerId: hex(20), pieceCount: 4, source: 'manual', address: `127.0.0.1:${port}`, handler, bodyStallTimeout: 1500 })
  t.after(() => p.close('test over'))
  await pollUntil(() => handler.ready !== null, { timeoutMs: 5000, what: 'handshake' })
  await new Promise((r) => setTimeout(r, 3000))
  assert.deepEqual(handler.closes, [], 'a peer sending at 4 KiB/s was dropped')
  assert.equal(p.wire.bodySince, 0, 'the message did not complete')
})

test('peer state changes only through its verbs: requests, refusals, timeouts, trust', () => {
  const handler: PeerHandler = {
    onReady() {}, onBitfield() {}, onHave() {}, onChoke() {}, onUnchoke() {}, onInterested() {}, onUninterested() {},
    onBlock() {}, onRequest() {}, onClose() {}
  }
  const peer = new Peer(socketPair()[0], { infoHash: 'ab'.repeat(20), peerId: 'cd'.repeat(20), pieceCount: 4, source: 'manual', address: '10.0.0.1:1', handler })
  assert.equal(peer.depth, START_DEPTH)
  peer.requestMany([{ piece: 0, offset: 0, length: 16384 }, { piece: 0, offset: 16384, length: 16384 }])
  assert.equal(peer.inflight, 2)
  peer.delivered(16384)
  assert.equal(peer.inflight, 1)
  assert.equal(peer.downloaded, 16384)
  peer.cancel(0, 16384, 16384)
  assert.equal(peer.inflight, 0)
  assert.equal(peer.refused(0), false, 'the late answer to a cancelled request is forgiven')
  assert.equal(peer.refused(0), true, 'an unrequested block is not')
  peer.requestMany([{ piece: 1, offset: 0, length: 16384 }])
  assert.equal(peer.timedOut(5000), 1)
  assert.equal(peer.inflight, 0)
  assert.equal(peer.depth, MIN_DEPTH)
  assert.equal(peer.lastBlockAt, 5000)
  peer.holdUnverified(3000)
  assert.equal(peer.trusted, false)
  peer.pieceChecked(1000, true)
  assert.equal(peer.unverified, 2000)
  assert.equal(peer.trusted, true)
  peer.pieceChecked(5000, false)
  assert.equal(peer.unverified, 0, 'never below zero')
  assert.equal(peer.trusted, false)
  peer.useful(7000)
  assert.equal(peer.lastUsefulAt, 7000)
  peer.close('test over')
  assert.equal(peer.closed, true)
})
