import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Connections } from '../../../lib/engine/torrent/connections.ts'
import { PeerBook } from '../../../lib/engine/swarm/peer-book.ts'
import { Peer, incomingWire, type PeerHandler, type PeerOptions } from '../../../lib/engine/wire/peer.ts'
import { ManualClock, socketPair } from '../../support/engine-fakes.ts'

const rig = (o: { maxConns?: number; canConnect?: () => boolean; dhtPort?: () => number | null; complete?: () => boolean; now?: () => number } = {}) => {
  const book = new PeerBook(o.now === undefined ? {} : { now: o.now })
  const dialled: PeerOptions[] = []
  let open = 0
  // What the coordinator does with these two events: admission and removal.
  const handler: PeerHandler = {
    onReady: (peer) => void conns.admit(peer),
    onClose: (peer) => void conns.remove(peer),
    onBitfield() {}, onHave() {}, onChoke() {}, onUnchoke() {}, onInterested() {}, onUninterested() {}, onBlock() {}, onRequest() {}
  }
  const conns = new Connections({
    meta: { infoHash: 'ab'.repeat(20), pieceCount: 4, infoBytes: Buffer.from('de'), private: false },
    ctx: {
      peerId: 'cd'.repeat(20),
      port: 6881,
      maxConnsPerTorrent: o.maxConns ?? 10,
      canConnect: o.canConnect ?? (() => true),
      connectionsChanged: (d) => (open += d),
      dhtPort: o.dhtPort,
      pex: false,
      dial: (_host, _port, opts) => {
        dialled.push(opts)
        return new Peer(socketPair()[0], opts)
      }
    },
    handler,
    book,
    learnt: () => {},
    accepting: () => true,
    ...(o.complete === undefined ? {} : { complete: o.complete })
  })
  return { book, conns, dialled, open: () => open }
}

test('connections: dials due addresses up to the torrent cap, with one options shape (source, address, DHT bit)', () => {
  const r = rig({ maxConns: 2, dhtPort: () => 7000 })
  r.book.add('10.0.0.1:1', 'tracker')
  r.book.add('10.0.0.2:2', 'pex')
  r.book.add('10.0.0.3:3', 'dht')
  r.conns.dialMore()
  assert.deepEqual(r.dialled.map((o) => [o.address, o.source, o.dht]), [['10.0.0.1:1', 'tracker', true], ['10.0.0.2:2', 'pex', true]])
  assert.equal(r.conns.size, 2)
  assert.equal(r.open(), 2)
  r.conns.closeAll('test over')
  assert.equal(r.conns.size, 0, 'closed peers leave through remove()')
})

test('connections: the client-wide cap stops dialling; an incoming connection is refused when full or banned', () => {
  let room = false
  const r = rig({ canConnect: () => room })
  r.book.add('10.0.0.1:1', 'tracker')
  r.conns.dialMore()
  assert.equal(r.dialled.length, 0)
  room = true
  const [ours] = socketPair({ address: '10.0.0.9', port: 5000 })
  r.book.ban('ee'.repeat(20))
  assert.equal(r.conns.acceptIncoming(ours, incomingWire(ours), 'ee'.repeat(20)), false, 'banned peer id')
  const [ours2] = socketPair({ address: '10.0.0.9', port: 5001 })
  assert.equal(r.conns.acceptIncoming(ours2, incomingWire(ours2), randomBytes(20).toString('hex')), true)
  assert.equal(r.conns.get('10.0.0.9:5001')?.source, 'incoming')
  r.conns.closeAll('test over')
})

test('connections: admit refuses a second connection to the same peer id; remove backs the address off; ban closes it', () => {
  const r = rig()
  r.book.add('10.0.0.1:1', 'tracker')
  r.book.add('10.0.0.2:2', 'tracker')
  r.conns.dialMore()
  const [a, b] = [r.conns.get('10.0.0.1:1')!, r.conns.get('10.0.0.2:2')!]
  const id = randomBytes(20).toString('hex')
  a.acceptHandshake(id) // ready (admitted), with that id
  assert.equal(a.closed, false)
  b.acceptHandshake(id)
  assert.equal(b.closed, true, 'a duplicate is closed')
  assert.equal(r.conns.get('10.0.0.2:2'), undefined)
  assert.equal(r.book.get('10.0.0.2:2')?.failures, 1, 'its address backs off')
  r.conns.ban(id, '10.0.0.1:1')
  assert.equal(a.closed, true)
  assert.equal(r.book.isBanned(id), true)
  assert.equal(r.book.isBanned('10.0.0.1:1'), true)
})

/** An incoming connection from `host:port`, handshaken with a fresh peer id. */
const incoming = (r: ReturnType<typeof rig>, host: string, port: number): boolean => {
  const [ours] = socketPair({ address: host, port })
  return r.conns.acceptIncoming(ours, incomingWire(ours), randomBytes(20).toString('hex'))
}

test('connections: a full torrent admits a newcomer in place of its oldest silent peer, and refuses it when every peer is busy', (t) => {
  // Peers stamp their handshake time from Date: the first one is made the older of the two.
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 })
  const r = rig({ maxConns: 2 })
  assert.ok(incoming(r, '10.0.1.1', 1))
  t.mock.timers.tick(10)
  assert.ok(incoming(r, '10.0.1.2', 2))
  const [first, second] = [r.conns.get('10.0.1.1:1')!, r.conns.get('10.0.1.2:2')!]
  assert.ok(first.readyAt < second.readyAt)
  assert.ok(incoming(r, '10.0.1.3', 3), 'admitted although full')
  assert.equal(first.closed, true, 'the oldest silent peer gave up its slot')
  assert.equal(second.closed, false)
  assert.equal(r.conns.size, 2)
  assert.equal(r.open(), 2, 'the client-wide count is unchanged')
  for (const p of r.conns.values()) p.wire.peerInterested = true
  assert.equal(incoming(r, '10.0.1.4', 4), false, 'peers with interest are never evicted for a newcomer')
  assert.equal(r.conns.size, 2)
  r.conns.closeAll('test over')
})

test('connections: at most maxConnsPerAddress peers from one address; the next takes the slot of that address\'s least useful peer', () => {
  const r = rig({ maxConns: 10 })
  for (let i = 0; i < 4; i++) assert.ok(incoming(r, '10.0.2.1', 100 + i))
  assert.ok(incoming(r, '10.0.2.1', 200))
  assert.equal([...r.conns.values()].filter((p) => p.address.startsWith('10.0.2.1:')).length, 4)
  assert.equal(r.conns.get('10.0.2.1:100'), undefined, 'the oldest of that address went')
  for (let i = 0; i < 6; i++) assert.ok(incoming(r, '127.0.0.1', 300 + i), 'loopback is exempt')
  r.conns.closeAll('test over')
})

test('connections: a full torrent with an address to dial closes one peer that said nothing, then dials', () => {
  const r = rig({ maxConns: 1 })
  assert.ok(incoming(r, '10.0.3.1', 1))
  r.book.add('10.0.3.9:9', 'tracker')
  r.conns.dialMore()
  assert.deepEqual(r.dialled.map((o) => o.address), ['10.0.3.9:9'])
  assert.equal(r.conns.get('10.0.3.1:1'), undefined)
  r.conns.closeAll('test over')
})

test('connections: a handshaken peer with no message by the first-message deadline is closed; one message is enough', () => {
  const r = rig()
  assert.ok(incoming(r, '10.0.4.1', 1))
  assert.ok(incoming(r, '10.0.4.2', 2))
  const [silent, spoke] = [r.conns.get('10.0.4.1:1')!, r.conns.get('10.0.4.2:2')!]
  spoke.wire.firstMessageAt = spoke.readyAt + 5
  r.conns.closeIfIdle(silent, silent.readyAt + 9_999, 300_000)
  assert.equal(silent.closed, false, 'not before the deadline')
  r.conns.closeIfIdle(silent, silent.readyAt + 10_000, 300_000)
  r.conns.closeIfIdle(spoke, spoke.readyAt + 60_000, 300_000)
  assert.equal(silent.closed, true)
  assert.equal(spoke.closed, false)
  r.conns.closeAll('test over')
})

test('connections: an incoming peer\'s listen address (its IP, the extended handshake\'s p) is held while it is connected, redialled after it closes, banned with it', () => {
  const r = rig()
  assert.ok(incoming(r, '::ffff:10.0.2.1', 50001))
  const peer = r.conns.get('10.0.2.1:50001')!
  peer.wire.emit('extended', 'handshake', { p: 7001 })
  assert.equal(r.book.get('10.0.2.1:7001')?.connected, true, 'recorded, held as connected')
  r.conns.dialMore()
  assert.equal(r.dialled.length, 0, 'never dialled beside its connection')
  // A repeated handshake with another port changes nothing.
  peer.wire.emit('extended', 'handshake', { p: 7002 })
  assert.equal(r.book.get('10.0.2.1:7002'), undefined)
  peer.close('test')
  const e = r.book.get('10.0.2.1:7001')!
  assert.deepEqual([e.connected, e.failures, e.source], [false, 1, 'incoming'], 'backs off as a dialled address does')

  // Without p, or with an address dialled already, nothing is held for it (nor released when it closes).
  assert.ok(incoming(r, '10.0.2.2', 50002))
  r.conns.get('10.0.2.2:50002')!.wire.emit('extended', 'handshake', { v: 'no port' })
  r.book.add('10.0.2.3:7003', 'tracker')
  r.conns.dialMore()
  assert.deepEqual(r.dialled.map((o) => o.address), ['10.0.2.3:7003'])
  assert.ok(incoming(r, '10.0.2.3', 50003))
  const twin = r.conns.get('10.0.2.3:50003')!
  twin.wire.emit('extended', 'handshake', { p: 7003 })
  twin.close('test')
  assert.deepEqual([r.book.get('10.0.2.3:7003')?.connected, r.book.get('10.0.2.3:7003')?.failures], [true, 0], 'the dial keeps it')
  assert.equal(r.book.size, 2)

  // A ban names its listen address too.
  assert.ok(incoming(r, '10.0.2.4', 50004))
  const liar = r.conns.get('10.0.2.4:50004')!
  liar.wire.emit('extended', 'handshake', { p: 7004 })
  r.conns.ban(liar.remoteId!, liar.address)
  assert.equal(liar.closed, true)
  assert.equal(r.book.isBanned('10.0.2.4:7004'), true)
  r.conns.closeAll('test over')
})

test('connections: a seed\'s address, dialled or its listen address, is not redialled while the torrent is complete', () => {
  let complete = true
  const clock = new ManualClock()
  const r = rig({ complete: () => complete, now: clock.now })
  r.book.add('10.0.3.1:1', 'tracker')
  r.conns.dialMore()
  const dialledSeed = r.conns.get('10.0.3.1:1')!
  dialledSeed.acceptHandshake(randomBytes(20).toString('hex'))
  dialledSeed.wire.emit('have-all')
  assert.ok(incoming(r, '10.0.3.2', 50001))
  const incomingSeed = r.conns.get('10.0.3.2:50001')!
  incomingSeed.wire.emit('extended', 'handshake', { p: 7001 })
  incomingSeed.wire.emit('have-all')
  assert.ok(dialledSeed.isSeed() && incomingSeed.isSeed())
  dialledSeed.close('both seeds')
  incomingSeed.close('both seeds')
  clock.advance(1000) // past the first back-off
  r.conns.dialMore()
  assert.deepEqual(r.dialled.map((o) => o.address), ['10.0.3.1:1'], 'no redial while both would be seeds')
  complete = false
  r.conns.dialMore()
  assert.deepEqual(r.dialled.map((o) => o.address), ['10.0.3.1:1', '10.0.3.1:1', '10.0.3.2:7001'], 'redialled once we lack pieces')
  r.conns.closeAll('test over')
})
