// BEP 11: three participants on 127.0.0.1 TCP; C knows only B, B knows A and C: C learns A via B.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect, type Server } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { createPex, type PexSwarm } from '../../../lib/engine/swarm/pex.ts'
import { wirePair, within } from '../../support/discovery.ts'

const infoHash = randomBytes(20).toString('hex')
const fast = { private: false, intervalMs: 50, minIncomingIntervalMs: 0 } as const

interface Participant { name: string; server: Server; addr: string; pex: PexSwarm; wires: Wire[]; handshakes: string[] }

async function participant (name: string): Promise<Participant> {
  const pex = createPex(fast)
  assert.ok(pex)
  const server = createServer()
  const p: Participant = { name, server, addr: '', pex, wires: [], handshakes: [] }
  server.on('connection', socket => {
    const wire = new Wire('tcpIncoming')
    p.wires.push(wire)
    wire.use(pex.extension)
    socket.pipe(wire).pipe(socket)
    socket.on('error', () => {})
    wire.on('handshake', (ih: string, peer: string) => { p.handshakes.push(peer); wire.handshake(ih, randomBytes(20)) })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const a = server.address()
  p.addr = `127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`
  return p
}

/** `from` dials `to` and registers the connection with its PEX swarm. */
async function dial (from: Participant, to: Participant): Promise<Wire> {
  const socket = connect(Number(to.addr.split(':')[1]), '127.0.0.1')
  socket.on('error', () => {})
  await once(socket, 'connect')
  const wire = new Wire('tcpOutgoing')
  from.wires.push(wire)
  wire.use(from.pex.extension)
  socket.pipe(wire).pipe(socket)
  const ext = once(wire, 'extended')
  wire.handshake(infoHash, randomBytes(20))
  await within(ext, 5000, `${from.name}->${to.name} extended handshake`)
  from.pex.connected(to.addr, wire)
  return wire
}

test('pex: off for private torrents', () => {
  assert.equal(createPex({ private: true }), null)
})

test('pex: C learns A through B, then hears A dropped; nobody is told about itself', { timeout: 20_000 }, async (t) => {
  const [a, b, c] = await Promise.all([participant('A'), participant('B'), participant('C')])
  t.after(() => {
    for (const p of [a, b, c]) { p.pex.destroy(); for (const w of p.wires) w.destroy(); p.server.close() }
  })
  const learntByC: string[] = []
  const learntByA: string[] = []
  c.pex.on('peer', addr => learntByC.push(addr))
  a.pex.on('peer', addr => learntByA.push(addr))
  // C dials B (C knows only B); B dials A. B's incoming side from C is registered under C's listen address.
  await dial(c, b)
  await dial(b, a)
  const bFromC = b.wires.find(w => w.type === 'tcpIncoming')
  assert.ok(bFromC)
  b.pex.connected(c.addr, bFromC)

  const learnt = new Promise<string>(resolve => c.pex.once('peer', addr => resolve(addr)))
  assert.equal(await within(learnt, 5000, 'C learns a peer'), a.addr)

  // C can reach A at the learnt address.
  const before = a.handshakes.length
  await dial(c, a)
  assert.equal(a.handshakes.length, before + 1)

  // B drops A: C hears it.
  const dropped = new Promise<string>(resolve => c.pex.once('dropped', addr => resolve(addr)))
  b.pex.disconnected(a.addr)
  assert.equal(await within(dropped, 5000, 'C hears A dropped'), a.addr)
  assert.ok(!learntByC.includes(c.addr), 'C was never told about itself')
  assert.ok(!learntByA.includes(a.addr), 'A was never told about itself')
})

test('pex: floods, garbage and too-frequent messages are bounded or ignored', { timeout: 10_000 }, async (t) => {
  const pex = createPex({ private: false, intervalMs: 60_000, minIncomingIntervalMs: 0, maxLearntPerPeer: 60 })
  assert.ok(pex)
  const [ours, theirs] = await wirePair(infoHash, w => w.use(pex.extension), w => w.use(createPex(fast)!.extension))
  t.after(() => { pex.destroy(); ours.destroy(); theirs.destroy() })
  const learnt: string[] = []
  const violations: string[] = []
  pex.on('peer', a => learnt.push(a))
  pex.on('violation', r => violations.push(r))
  const send = async (payload: Uint8Array): Promise<void> => {
    const got = once(ours, 'extended')
    theirs.extended('ut_pex', payload)
    await got
  }
  // 1000 peers in one message: at most 50 are taken.
  const many = Buffer.alloc(1000 * 6)
  for (let i = 0; i < 1000; i++) { many.writeUInt32BE(0x0a000000 + i, i * 6); many.writeUInt16BE(6881, i * 6 + 4) }
  await send(Buffer.concat([Buffer.from(`d5:added${many.length}:`), many, Buffer.from('e')]))
  assert.equal(learnt.length, 50)
  // Odd lengths, port 0, garbage and deep nesting: no crash, nothing bogus learnt.
  await send(Buffer.from('d5:added7:\x0a\x00\x00\x01\x1a\xe1\x00e', 'latin1'))
  await send(Buffer.from('d5:added6:\x0a\x00\x00\x02\x00\x00e', 'latin1'))
  await send(Buffer.from('garbage'))
  await send(Buffer.from('d5:added' + 'l'.repeat(3000) + 'e'.repeat(3000) + 'e'))
  assert.equal(violations.length, 2, violations.join('; '))
  // A second flood: the per-connection cap (60) holds.
  const more = Buffer.alloc(50 * 6)
  for (let i = 0; i < 50; i++) { more.writeUInt32BE(0x0b000000 + i, i * 6); more.writeUInt16BE(6881, i * 6 + 4) }
  await send(Buffer.concat([Buffer.from(`d5:added${more.length}:`), more, Buffer.from('e')]))
  assert.equal(learnt.length, 60)
  assert.ok(learnt.every(a => /^1[01]\.0\.0\.\d+:6881$/.test(a)))
  assert.equal(ours.destroyed, false)

  // Rate limit: a strict swarm ignores a second message within its window.
  const strict = createPex({ private: false, minIncomingIntervalMs: 60_000 })!
  const [s1, s2] = await wirePair(infoHash, w => w.use(strict.extension), w => w.use(createPex(fast)!.extension))
  t.after(() => { strict.destroy(); s1.destroy(); s2.destroy() })
  const strictViolations: string[] = []
  strict.on('violation', r => strictViolations.push(r))
  for (let i = 0; i < 2; i++) {
    const got = once(s1, 'extended')
    s2.extended('ut_pex', Buffer.from('de'))
    await got
  }
  assert.deepEqual(strictViolations, ['PEX messages too frequent'])
})

test('pex: IPv6 peers round-trip', { timeout: 10_000 }, async (t) => {
  const a = createPex(fast)!
  const b = createPex(fast)!
  const [wa, wb] = await wirePair(infoHash, w => w.use(a.extension), w => w.use(b.extension))
  t.after(() => { a.destroy(); b.destroy(); wa.destroy(); wb.destroy() })
  const got = new Promise<string[]>(resolve => {
    const seen: string[] = []
    b.on('peer', addr => { seen.push(addr); if (seen.length === 2) resolve(seen) })
  })
  a.connected('[2001:db8::1]:6881', undefined, { seed: true })
  a.connected('192.0.2.7:51413')
  a.flush()
  assert.deepEqual((await within(got, 5000, 'peers')).sort(), ['192.0.2.7:51413', '[2001:db8::1]:6881'])
})

test('pex: malformed added6 (a partial entry, port 0) is bounded, never a crash', { timeout: 10_000 }, async (t) => {
  const pex = createPex({ private: false, intervalMs: 60_000, minIncomingIntervalMs: 0 })!
  const [ours, theirs] = await wirePair(infoHash, w => w.use(pex.extension), w => w.use(createPex(fast)!.extension))
  t.after(() => { pex.destroy(); ours.destroy(); theirs.destroy() })
  const learnt: string[] = []
  pex.on('peer', a => learnt.push(a))
  const send = async (payload: Uint8Array): Promise<void> => {
    const got = once(ours, 'extended')
    theirs.extended('ut_pex', payload)
    await got
  }
  const entry = (last: number, port: number): Buffer => {
    const b = Buffer.alloc(18)
    b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8; b[15] = last
    b.writeUInt16BE(port, 16)
    return b
  }
  // one good entry, one with port 0, then a 7-byte fragment
  const added6 = Buffer.concat([entry(1, 6881), entry(2, 0), Buffer.alloc(7, 0xff)])
  await send(Buffer.concat([Buffer.from(`d6:added6${added6.length}:`), added6, Buffer.from('8:added6.f1:\x02e', 'latin1')]))
  assert.deepEqual(learnt, ['[2001:db8::1]:6881'])
  assert.equal(ours.destroyed, false)
})
