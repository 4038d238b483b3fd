/**
 * lib/engine/wire/utp.ts over loopback: utp-native loads here, bytes move both
 * ways unchanged through one endpoint that accepts and another that dials, a
 * flood of garbage datagrams and of forged SYNs neither crashes the process
 * nor blocks an honest connection past the pending cap, and where the module
 * is turned off the endpoint refuses with a clear reason.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { udpRelay } from '../../support/udp-relay.ts'
import { openUtp, utpStatus, type UtpConnection, type UtpEndpoint } from '../../../lib/engine/wire/utp.ts'

const sha = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex')

/** Read everything a connection sends until it ends. */
const readAll = (c: UtpConnection): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    c.on('data', (d: Buffer) => parts.push(d))
    c.once('end', () => resolve(Buffer.concat(parts)))
    c.once('error', reject)
  })

/** An echo endpoint: each accepted connection is released on its first byte and echoes. */
interface Echo {
  readonly ep: UtpEndpoint
  /** Connections handed to the handler so far. */
  accepted(): number
  /** Most connections handed over and not yet released or closed, at any one time. */
  peakPending(): number
}
const echo = async (limits?: { maxPending?: number; pendingTimeout?: number }): Promise<Echo> => {
  let n = 0
  let open = 0
  let peak = 0
  const ep = await openUtp(
    0,
    '127.0.0.1',
    (conn, release) => {
      n++
      open++
      peak = Math.max(peak, open)
      let done = false
      const leave = (): void => {
        if (done) return
        done = true
        open--
      }
      conn.once('data', () => {
        release()
        leave()
      })
      conn.once('close', leave)
      conn.pipe(conn)
    },
    limits
  )
  return { ep, accepted: () => n, peakPending: () => peak }
}

test('utp-native loads on this platform', () => {
  assert.deepEqual(utpStatus(), { available: true })
})

test('4 MiB go through a loopback uTP connection and come back byte-identical', async () => {
  const { ep: server } = await echo()
  const client = await openUtp(0, '127.0.0.1', (c) => c.destroy())
  try {
    const data = randomBytes(4 << 20)
    const conn = client.connect(server.port, '127.0.0.1')
    const back = readAll(conn)
    conn.end(data)
    const got = await back
    assert.equal(got.length, data.length)
    assert.equal(sha(got), sha(data))
    assert.equal(conn.remotePort, server.port)
    assert.equal(conn.remoteAddress, '127.0.0.1')
  } finally {
    await client.close()
    await server.close()
  }
})

test('1 MiB crosses a link with 50 ms delay and 1% loss each way, byte-identical', async () => {
  const { ep: server } = await echo()
  const relay = await udpRelay({ target: { host: '127.0.0.1', port: server.port }, up: { delayMs: 50, loss: 0.01 }, seed: 3 })
  const client = await openUtp(0, '127.0.0.1', (c) => c.destroy())
  try {
    const data = randomBytes(1 << 20)
    const conn = client.connect(relay.port, '127.0.0.1')
    const back = readAll(conn)
    conn.end(data)
    assert.equal(sha(await back), sha(data))
    // The link did drop and delay: uTP resent what was lost.
    assert.ok(relay.stats.up.dropped > 0 && relay.stats.down.dropped > 0, JSON.stringify(relay.stats))
  } finally {
    await client.close()
    await relay.close()
    await server.close()
  }
})

/** Send `n` datagrams made by `make(i)` to 127.0.0.1:port, in bursts that let the loop breathe. */
const flood = async (port: number, n: number, make: (i: number) => Buffer): Promise<void> => {
  const s = createSocket('udp4')
  try {
    for (let i = 0; i < n; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, n - i) }, (_, k) => new Promise<void>((r) => s.send(make(i + k), port, '127.0.0.1', () => r())))
      )
      await new Promise((r) => setImmediate(r))
    }
  } finally {
    s.close()
  }
}

/** A uTP v1 header of `type` (4 = ST_SYN) with the given connection id. */
const header = (type: number, connId: number): Buffer => {
  const b = randomBytes(20)
  b[0] = (type << 4) | 1
  b[1] = 0
  b.writeUInt16BE(connId & 0xffff, 2)
  return b
}

test('a flood of garbage datagrams and forged uTP packets neither crashes nor blocks a real connection', async () => {
  const { ep: server } = await echo()
  const client = await openUtp(0, '127.0.0.1', (c) => c.destroy())
  try {
    // Random bytes of every length, then well-formed headers of every type with bad ids.
    await flood(server.port, 3000, (i) => randomBytes(1 + (i % 1500)))
    await flood(server.port, 2000, (i) => header([0, 1, 2, 3][i % 4]!, i))
    const data = randomBytes(256 << 10)
    const conn = client.connect(server.port, '127.0.0.1')
    const back = readAll(conn)
    conn.end(data)
    assert.equal(sha(await back), sha(data))
  } finally {
    await client.close()
    await server.close()
  }
})

test('forged SYNs fill at most the pending cap; silent ones time out and an honest peer gets in', async () => {
  const maxPending = 16
  const { ep: server, accepted, peakPending } = await echo({ maxPending, pendingTimeout: 500 })
  const client = await openUtp(0, '127.0.0.1', (c) => c.destroy())
  try {
    await flood(server.port, 400, (i) => header(4, 1000 + i))
    // Wait until the flood has been taken in (accepted ones are counted as they arrive).
    const t0 = Date.now()
    while (accepted() < maxPending && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20))
    assert.ok(accepted() >= 1, 'forged SYNs are seen as connections by libutp')
    // None of them ever sends a byte: each is dropped by the pending timeout,
    // after which an honest connection is accepted and served.
    const data = randomBytes(64 << 10)
    let got: Buffer | null = null
    for (let attempt = 0; attempt < 60 && got === null; attempt++) {
      const conn = client.connect(server.port, '127.0.0.1')
      const back = readAll(conn).catch(() => null)
      conn.end(data)
      got = await back
    }
    assert.ok(got, 'an honest connection gets through once the forged ones time out')
    assert.equal(sha(got), sha(data))
    // The cap held: never more than maxPending silent connections at once.
    assert.ok(peakPending() <= maxPending, `peak ${peakPending()} pending`)
  } finally {
    await client.close()
    await server.close()
  }
})

test('binding a port already in use rejects with the bind error', async () => {
  const a = await openUtp(0, '127.0.0.1', (c) => c.destroy())
  try {
    await assert.rejects(openUtp(a.port, '127.0.0.1', (c) => c.destroy()))
  } finally {
    await a.close()
  }
})

test('binding an IPv6 host refuses at once with the reason', async () => {
  await assert.rejects(openUtp(0, '::1', (c) => c.destroy()), /uTP unavailable: IPv4 only, not ::1/)
})

test('dialling an IPv6 address throws at once (libutp sockets are IPv4)', async () => {
  const a = await openUtp(0, '127.0.0.1', (c) => c.destroy())
  try {
    assert.throws(() => a.connect(6881, '::1'), /IPv4/)
  } finally {
    await a.close()
  }
})

test('with uTP turned off the status gives the reason and openUtp refuses with it', () => {
  const mod = fileURLToPath(new URL('../../../lib/engine/wire/utp.ts', import.meta.url))
  const script = `
    const m = await import(${JSON.stringify(mod)})
    console.log(JSON.stringify(m.utpStatus()))
    try { await m.openUtp(0, '127.0.0.1', () => {}) } catch (e) { console.log(e.message) }
  `
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, TORRENT_PATRON_UTP: 'off' },
    encoding: 'utf8'
  })
  assert.equal(r.status, 0, r.stderr)
  const [status, message] = r.stdout.trim().split('\n')
  assert.deepEqual(JSON.parse(status!), { available: false, reason: 'turned off by TORRENT_PATRON_UTP=off' })
  assert.equal(message, 'uTP unavailable: turned off by TORRENT_PATRON_UTP=off')
})

test('a closed endpoint does not keep the process alive while libutp winds down a connection to a vanished peer', async () => {
  const mod = fileURLToPath(new URL('../../../lib/engine/wire/utp.ts', import.meta.url))
  // The peer's endpoint goes first, so our connection's FIN is never answered.
  const script = `
    const m = await import(${JSON.stringify(mod)})
    const a = await m.openUtp(0, '127.0.0.1', (conn, release) => { release(); conn.pipe(conn) })
    const b = await m.openUtp(0, '127.0.0.1', () => {})
    const c = b.connect(a.port, '127.0.0.1')
    c.on('error', () => {})
    c.write('ping')
    await new Promise((resolve) => c.once('data', resolve))
    await a.close()
    await b.close()
    console.log('closed')
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  // Bounded waits: the whole script, and the exit once it said it closed everything. libutp gives up on
  // the unanswered FIN after about 30 s; a child still alive 15 s after closing is held up by it.
  let limit = setTimeout(() => child.kill('SIGKILL'), 120_000)
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    if (out.includes('closed')) {
      clearTimeout(limit)
      limit = setTimeout(() => child.kill('SIGKILL'), 15_000)
    }
  })
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const [code, signal] = await once(child, 'exit') as [number | null, string | null]
  clearTimeout(limit)
  assert.equal(out.trim(), 'closed', err)
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'the process exits by itself once both endpoints are closed')
})
