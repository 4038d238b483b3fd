import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Connections } from '../../../lib/engine/torrent/connections.ts'
import { PeerBook } from '../../../lib/engine/swarm/peer-book.ts'
import { Peer, incomingWire, type PeerHandler, type PeerOptions } from '../../../lib/engine/wire/peer.ts'
import { socketPair } from '../../support/engine-fakes.ts'

const rig = (o: { maxConns?: number; canConnect?: () => boolean; dhtPort?: () => number | null } = {}) => {
  const book = new PeerBook()
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
    accepting: () => true
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
