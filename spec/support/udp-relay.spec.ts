/**
 * spec/support/udp-relay.ts, measured: every datagram is held at least the
 * configured delay, the drop count of a seeded loss matches the rate within
 * binomial bounds and is the same for the same seed, replies find their way
 * back to each client, and the bandwidth queue paces and tail-drops.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket, type Socket } from 'node:dgram'
import { udpRelay, seededRandom, RECV_BUFFER } from './udp-relay.ts'
import { pollUntil } from './peers/wait.ts'

const bound = (s: Socket): Promise<number> =>
  new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)))

/** A UDP socket that echoes every datagram back to its sender. */
const echoServer = async (): Promise<{ port: number; close(): void }> => {
  const s = createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER })
  s.on('message', (m, r) => s.send(m, r.port, r.address))
  const port = await bound(s)
  return { port, close: () => s.close() }
}

/** A UDP socket that records the sequence number (first 4 bytes) and arrival time of each datagram. */
const sink = async (): Promise<{ port: number; got: Map<number, number>; close(): void }> => {
  const s = createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER })
  const got = new Map<number, number>()
  s.on('message', (m) => got.set(m.readUInt32BE(0), performance.now()))
  const port = await bound(s)
  return { port, got, close: () => s.close() }
}

const seq = (i: number, size = 64): Buffer => {
  const b = Buffer.alloc(size)
  b.writeUInt32BE(i, 0)
  return b
}

/** Send datagrams i = 0..n-1 to port, a burst of `burst` at a time. Returns each send time. */
const sendAll = async (s: Socket, port: number, n: number, size = 64, burst = 100): Promise<number[]> => {
  const at: number[] = []
  for (let i = 0; i < n; i += burst) {
    await Promise.all(
      Array.from({ length: Math.min(burst, n - i) }, (_, k) => {
        at[i + k] = performance.now()
        return new Promise<void>((r) => s.send(seq(i + k, size), port, '127.0.0.1', () => r()))
      })
    )
    await new Promise((r) => setImmediate(r))
  }
  return at
}

test('the seeded generator is deterministic and roughly uniform', () => {
  const a = seededRandom(42)
  const b = seededRandom(42)
  const xs = Array.from({ length: 10000 }, () => a())
  assert.deepEqual(xs.slice(0, 100), Array.from({ length: 100 }, () => b()))
  const mean = xs.reduce((x, y) => x + y, 0) / xs.length
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`)
  assert.ok(xs.every((x) => x >= 0 && x < 1))
})

test('each datagram is delayed at least the configured time each way, and replies reach the client', async () => {
  const echo = await echoServer()
  const delayMs = 40
  const relay = await udpRelay({ target: { host: '127.0.0.1', port: echo.port }, up: { delayMs } })
  const client = createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER })
  await bound(client)
  const rtts: number[] = []
  try {
    const sent = new Map<number, number>()
    const done = new Promise<void>((resolve) => {
      client.on('message', (m) => {
        rtts.push(performance.now() - sent.get(m.readUInt32BE(0))!)
        if (rtts.length === 100) resolve()
      })
    })
    for (let i = 0; i < 100; i++) {
      sent.set(i, performance.now())
      client.send(seq(i), relay.port, '127.0.0.1')
      await new Promise((r) => setTimeout(r, 2))
    }
    await done
    rtts.sort((a, b) => a - b)
    // Up and down are each held delayMs: no reply can come back sooner than twice that.
    assert.ok(rtts[0]! >= 2 * delayMs - 1, `fastest round trip ${rtts[0]} ms`)
    const median = rtts[50]!
    assert.ok(median < 2 * delayMs + 500, `median round trip ${median} ms`)
    assert.deepEqual(relay.stats.up, { received: 100, forwarded: 100, dropped: 0, overflowed: 0 })
    assert.deepEqual(relay.stats.down, { received: 100, forwarded: 100, dropped: 0, overflowed: 0 })
  } finally {
    client.close()
    await relay.close()
    echo.close()
  }
})

test('a 10% seeded loss drops about 10% and the same datagrams for the same seed', async () => {
  const n = 5000
  const runOnce = async (seed: number): Promise<Set<number>> => {
    const out = await sink()
    const relay = await udpRelay({ target: { host: '127.0.0.1', port: out.port }, up: { loss: 0.1 }, seed })
    const client = createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER })
    await bound(client)
    try {
      await sendAll(client, relay.port, n)
      const up = relay.stats.up
      await pollUntil(() => up.received === n && up.forwarded + up.dropped === n && out.got.size === up.forwarded, {
        timeoutMs: 60_000,
        what: 'every forwarded datagram to arrive'
      })
      const { dropped, forwarded } = relay.stats.up
      assert.equal(dropped + forwarded, n)
      // Binomial(5000, 0.1): mean 500, sd 21.2; 5 sd either side.
      assert.ok(dropped > 394 && dropped < 606, `dropped ${dropped}`)
      return new Set(Array.from({ length: n }, (_, i) => i).filter((i) => !out.got.has(i)))
    } finally {
      client.close()
      await relay.close()
      out.close()
    }
  }
  const a = await runOnce(7)
  const b = await runOnce(7)
  const c = await runOnce(8)
  assert.deepEqual([...a].sort(), [...b].sort(), 'the same seed drops the same datagrams')
  assert.notDeepEqual([...a].sort(), [...c].sort(), 'another seed drops others')
})

test('a bandwidth limit paces datagrams and a full queue tail-drops', async () => {
  const out = await sink()
  const rate = 200_000
  const relay = await udpRelay({ target: { host: '127.0.0.1', port: out.port }, up: { rate, queueBytes: 20_000 } })
  const client = createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER })
  await bound(client)
  try {
    const sentAt = await sendAll(client, relay.port, 100, 1000, 100)
    // settled: every datagram received, each either dropped or forwarded (none still queued), every forwarded one arrived
    const settled = (): boolean => {
      const up = relay.stats.up
      return up.received === 100 && up.forwarded + up.dropped === 100 && out.got.size === up.forwarded
    }
    await pollUntil(settled, {
      timeoutMs: 60_000,
      what: 'the paced datagrams to arrive'
    })
    const { forwarded, overflowed, dropped } = relay.stats.up
    assert.equal(forwarded + dropped, 100)
    assert.equal(dropped, overflowed)
    assert.ok(overflowed > 0, 'a 100 kB burst overflows a 20 kB queue')
    assert.ok(forwarded >= 20, `forwarded ${forwarded}`)
    // The k-th datagram through leaves no sooner than k * 1000 / rate seconds after the first was sent.
    const arrivals = [...out.got.values()].sort((x, y) => x - y)
    const span = arrivals[arrivals.length - 1]! - sentAt[0]!
    assert.ok(span >= ((forwarded - 1) * 1000 * 1000) / rate - 1, `span ${span} ms for ${forwarded} datagrams`)
  } finally {
    client.close()
    await relay.close()
    out.close()
  }
})
