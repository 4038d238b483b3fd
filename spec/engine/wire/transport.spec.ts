import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { openUtp, type UtpEndpoint } from '../../../lib/engine/wire/utp.ts'
import { RaceSocket } from '../../../lib/engine/wire/transport.ts'

/** A uTP endpoint that echoes, counting the connections it accepted. */
const utpEcho = async (): Promise<{ ep: UtpEndpoint, accepted: () => number }> => {
  let n = 0
  const ep = await openUtp(0, '127.0.0.1', (conn, release) => {
    n++
    release()
    conn.on('error', () => {})
    conn.pipe(conn)
  })
  return { ep, accepted: () => n }
}

const roundTrip = async (s: RaceSocket, got: Buffer[]): Promise<string> => {
  s.write(Buffer.from('ping'))
  for (let i = 0; i < 1000 && Buffer.concat(got).length < 4; i++) await new Promise((r) => setTimeout(r, 10))
  return Buffer.concat(got).toString()
}

test('with TCP and uTP both listening, TCP connects within its head start and uTP is never dialled', async (t) => {
  const dialer = await utpEcho()
  t.after(() => dialer.ep.close())
  const { ep: utpServer, accepted } = await utpEcho()
  t.after(() => utpServer.close())
  // The TCP listener shares the uTP endpoint's port number, as the engine's listener does.
  const tcp = net.createServer((c) => c.pipe(c))
  tcp.listen(utpServer.port, '127.0.0.1')
  await once(tcp, 'listening')
  t.after(() => tcp.close())
  const got: Buffer[] = []
  const s = new RaceSocket('127.0.0.1', utpServer.port, { tcp: true, utp: dialer.ep, utpHeadStart: 60_000 }, (v) => got.push(Buffer.from(v)))
  t.after(() => s.destroy())
  await once(s, 'connect')
  assert.equal(s.transport, 'tcp')
  assert.equal(await roundTrip(s, got), 'ping')
  assert.equal(accepted(), 0, 'no uTP connection was opened')
})

test('when TCP is refused, uTP is dialled at once, without waiting out the head start', { timeout: 30_000 }, async (t) => {
  const dialer = await utpEcho()
  t.after(() => dialer.ep.close())
  const { ep: utpOnly, accepted } = await utpEcho()
  t.after(() => utpOnly.close())
  const got: Buffer[] = []
  // A head start longer than the test's timeout: only the refusal can start uTP in time.
  const s = new RaceSocket('127.0.0.1', utpOnly.port, { tcp: true, utp: dialer.ep, utpHeadStart: 600_000 }, (v) => got.push(Buffer.from(v)))
  t.after(() => s.destroy())
  await once(s, 'connect')
  assert.equal(s.transport, 'utp')
  assert.equal(await roundTrip(s, got), 'ping')
  assert.equal(accepted(), 1)
})

test('when both transports fail the socket errors once and closes', { timeout: 30_000 }, async (t) => {
  const dialer = await utpEcho()
  t.after(() => dialer.ep.close())
  // A port nothing listens on, for TCP or uTP (uTP fails on its connect timeout or ICMP).
  const probe = net.createServer()
  probe.listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const port = (probe.address() as net.AddressInfo).port
  probe.close()
  const s = new RaceSocket('127.0.0.1', port, { tcp: true, utp: dialer.ep, utpHeadStart: 600_000 }, () => {})
  const errors: Error[] = []
  s.on('error', (e) => errors.push(e))
  await new Promise((resolve) => s.once('close', resolve))
  assert.equal(errors.length, 1)
  assert.equal(s.transport, null)
})

/** A TCP listener keeping what it receives; `arrived(n)` resolves once it holds n bytes. */
const collector = (received: Buffer[]): { tcp: net.Server; arrived: (n: number) => Promise<void> } => {
  let want = Infinity
  let wake = (): void => {}
  const tcp = net.createServer((c) =>
    c.on('data', (d: Buffer) => {
      received.push(d)
      if (Buffer.concat(received).length >= want) wake()
    })
  )
  const arrived = (n: number): Promise<void> =>
    new Promise((resolve) => {
      want = n
      wake = resolve
      if (Buffer.concat(received).length >= n) resolve()
    })
  return { tcp, arrived }
}

test('a corked batch of writes reaches the winning TCP socket as one writev, in order, every callback called', async (t) => {
  const received: Buffer[] = []
  const { tcp, arrived: arrivedAt } = collector(received)
  tcp.listen(0, '127.0.0.1')
  await once(tcp, 'listening')
  t.after(() => tcp.close())
  const port = (tcp.address() as net.AddressInfo).port
  // Count what the dialled net.Socket is handed.
  const proto = net.Socket.prototype as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void }
  const { _write, _writev } = proto
  const calls = { write: 0, writev: [] as number[] }
  const mine = (sock: unknown): boolean => (sock as net.Socket).remotePort === port
  proto._write = function (this: unknown, ...a: unknown[]) {
    if (mine(this)) calls.write++
    return _write.apply(this, a)
  }
  proto._writev = function (this: unknown, ...a: unknown[]) {
    if (mine(this)) calls.writev.push((a[0] as unknown[]).length)
    return _writev.apply(this, a)
  }
  t.after(() => Object.assign(proto, { _write, _writev }))
  const s = new RaceSocket('127.0.0.1', port, { tcp: true, utp: null }, () => {})
  t.after(() => s.destroy())
  await once(s, 'connect')
  const chunks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(1000 + i, i))
  let called = 0
  const arrived = arrivedAt(chunks.reduce((n, c) => n + c.length, 0))
  s.cork()
  for (const c of chunks) s.write(c, () => called++)
  s.uncork()
  await arrived
  assert.deepEqual(Buffer.concat(received), Buffer.concat(chunks))
  assert.equal(called, chunks.length)
  assert.deepEqual(calls.writev, [chunks.length], 'one writev of the whole batch')
  assert.equal(calls.write, 0, 'no write per chunk')
})

test('a corked batch written before the race is won is sent in order once it is, every callback called', async (t) => {
  const received: Buffer[] = []
  const { tcp, arrived } = collector(received)
  tcp.listen(0, '127.0.0.1')
  await once(tcp, 'listening')
  t.after(() => tcp.close())
  const port = (tcp.address() as net.AddressInfo).port
  const s = new RaceSocket('127.0.0.1', port, { tcp: true, utp: null }, () => {})
  t.after(() => s.destroy())
  const chunks = Array.from({ length: 5 }, (_, i) => Buffer.alloc(100, i + 1))
  const all = arrived(chunks.reduce((n, c) => n + c.length, 0))
  s.cork()
  const done = chunks.map((c) => new Promise<void>((resolve, reject) => s.write(c, (e) => (e ? reject(e) : resolve()))))
  s.uncork()
  assert.equal(s.transport, null, 'written before connecting')
  await Promise.all(done)
  await all
  assert.deepEqual(Buffer.concat(received), Buffer.concat(chunks))
})
