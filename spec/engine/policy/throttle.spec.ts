import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { TokenBucket, Throttle, limitToRate } from '../../../lib/engine/policy/throttle.ts'

interface Limiter {
  take(bytes: number, now: number): number
}

/**
 * A greedy sender over simulated time: it asks for `size(i)` bytes, sends
 * them when allowed, and otherwise sleeps exactly the advised wait. Returns
 * what it sent, when, and the time it stopped.
 */
const greedy = (
  lim: Limiter,
  from: number,
  until: number,
  size: (i: number) => number
): { bytes: number; sends: { at: number; n: number }[]; end: number } => {
  let now = from
  let bytes = 0
  let i = 0
  const sends: { at: number; n: number }[] = []
  // A correct limiter makes every loop send or move time forward; the cap turns a broken one into a failure, not a hang.
  for (let guard = 0; now < until; guard++) {
    assert.ok(guard < 5_000_000, 'the limiter never made the sender wait')
    const n = size(i)
    const wait = lim.take(n, now)
    if (wait === 0) {
      bytes += n
      sends.push({ at: now, n })
      i++
    } else {
      assert.ok(wait >= 1 && Number.isInteger(wait), `wait ${wait} is a whole number of ms`)
      now += wait
    }
  }
  return { bytes, sends, end: now }
}

/** Largest number of bytes sent within any window of `len` ms starting at a send. */
const worstWindow = (sends: readonly { at: number; n: number }[], len: (a: number, b: number) => number): number => {
  let worst = -Infinity
  for (let i = 0; i < sends.length; i++) {
    let sum = 0
    for (let j = i; j < sends.length; j++) {
      sum += sends[j]!.n
      worst = Math.max(worst, sum - len(sends[i]!.at, sends[j]!.at))
    }
  }
  return worst
}

describe('TokenBucket', () => {
  test('long-run average within 2% of the rate (simulated time)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 4_000_000 }),
        fc.array(fc.integer({ min: 4096, max: 131072 }), { minLength: 1, maxLength: 8 }),
        fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
        fc.integer({ min: 0, max: 1e12 }),
        (rate, sizes, burstBlocks, start) => {
          const maxSize = Math.max(...sizes)
          // Explicit bursts: a few of the largest takes plus a ms of the rate (see the module doc).
          const burst = burstBlocks === undefined ? undefined : burstBlocks * maxSize + rate / 1000
          const b = new TokenBucket(rate, burst)
          // Long enough that the initial full bucket is under 1% of what moves.
          const duration = Math.max(60_000, (100 * 1000 * Math.max(b.burst, maxSize)) / rate)
          const { bytes, end } = greedy(b, start, start + duration, (i) => sizes[i % sizes.length]!)
          const avg = (bytes * 1000) / (end - start)
          assert.ok(Math.abs(avg - rate) / rate < 0.02, `average ${avg} for rate ${rate}`)
        }
      ),
      { numRuns: 60 }
    )
  })

  test('bursts are bounded: any window of T ms carries at most burst + rate*T bytes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 1_000_000 }),
        fc.integer({ min: 1, max: 200_000 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 3000 }), n: fc.integer({ min: 1, max: 200_000 }) }), { maxLength: 150, size: 'max' }),
        (rate, burst, asks) => {
          const b = new TokenBucket(rate, burst)
          let now = 0
          const sends: { at: number; n: number }[] = []
          for (const a of asks) {
            now += a.gap
            const n = Math.min(a.n, burst)
            if (b.take(n, now) === 0) sends.push({ at: now, n })
          }
          const excess = worstWindow(sends, (s, e) => ((e - s) * rate) / 1000)
          assert.ok(excess <= burst + 1e-6, `excess ${excess} over burst ${burst}`)
        }
      ),
      { numRuns: 200 }
    )
  })

  test('a take larger than the burst passes on a full bucket and leaves a debt', () => {
    const b = new TokenBucket(1000, 100)
    assert.equal(b.take(500, 0), 0)
    assert.equal(b.available(0), -400)
    // The debt is waited out before even a small take: 401 bytes at 1 byte/ms.
    assert.equal(b.take(1, 0), 401)
    assert.equal(b.take(1, 400), 1)
    assert.equal(b.take(1, 401), 0)
    // The next big one waits for a full bucket again.
    assert.equal(b.take(500, 401), 100)
  })

  test('a refused take charges nothing; the advised wait is exact to the ms', () => {
    const b = new TokenBucket(1000, 1000) // 1 byte/ms, 1000 bytes of burst
    assert.equal(b.take(1000, 0), 0)
    assert.equal(b.take(1000, 0), 1000)
    assert.equal(b.take(1000, 500), 500, 'asking again charged nothing')
    assert.equal(b.take(1000, 999), 1)
    assert.equal(b.take(1000, 1000), 0)
    assert.equal(b.take(1, 1000.5), 1, 'a fraction of a ms is rounded up')
  })

  test('Infinity never waits', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 0, max: 1e15, noNaN: true }), fc.double({ min: -1e12, max: 1e12, noNaN: true }))), (asks) => {
        const b = new TokenBucket(Infinity)
        for (const [n, t] of asks) assert.equal(b.take(n, t), 0)
        assert.equal(b.available(0), Infinity)
      })
    )
    const t = new Throttle(new TokenBucket(Infinity), new TokenBucket(Infinity))
    assert.equal(t.take(1e12, 0), 0)
  })

  test('a rate change takes effect at once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5000, max: 2_000_000 }), fc.integer({ min: 5000, max: 2_000_000 }), (r1, r2) => {
        const b = new TokenBucket(r1)
        const leg = (rate: number, from: number): number => {
          const duration = Math.max(60_000, (100 * 1000 * b.burst) / rate)
          const { bytes, end } = greedy(b, from, from + duration, () => 16384)
          const avg = (bytes * 1000) / (end - from)
          assert.ok(Math.abs(avg - rate) / rate < 0.02, `average ${avg} for rate ${rate}`)
          return end
        }
        const end = leg(r1, 0)
        b.setRate(r2, end)
        assert.equal(b.rate, r2)
        leg(r2, end)
      }),
      { numRuns: 30 }
    )
  })

  test('setRate: tokens earned count at the old rate; a default burst follows the rate', () => {
    const b = new TokenBucket(1_000_000) // burst 250 kB
    assert.equal(b.burst, 250_000)
    assert.equal(b.take(250_000, 0), 0)
    b.setRate(300_000, 100) // 100 ms at 1 MB/s earned 100 kB; the new burst is 75 kB
    assert.equal(b.burst, 75_000)
    assert.equal(b.available(100), 75_000)
    assert.equal(b.take(75_000, 100), 0)
    assert.equal(b.take(30_000, 100), 100, '30 kB at 300 kB/s')
    const fixed = new TokenBucket(1000, 5000)
    fixed.setRate(1e6)
    assert.equal(fixed.burst, 5000, 'an explicit burst stays')
  })

  test('unlimited to limited starts full; limited to unlimited stops waiting', () => {
    const b = new TokenBucket(Infinity)
    b.setRate(1000, 0)
    assert.equal(b.available(0), 65536)
    assert.equal(b.take(65536, 0), 0)
    assert.equal(b.take(16384, 0), 16384)
    b.setRate(Infinity, 0)
    assert.equal(b.take(1e9, 0), 0)
  })

  test('a clock that goes back adds to the wait instead of refilling backwards', () => {
    const b = new TokenBucket(1000, 1000)
    assert.equal(b.take(1000, 5000), 0)
    assert.equal(b.take(500, 4000), 1000 + 500)
    assert.equal(b.available(5500), 500)
  })

  test('bad rates and bursts are refused; option values map to rates', () => {
    for (const r of [0, -1, Number.NaN]) assert.throws(() => new TokenBucket(r), RangeError)
    for (const x of [0, -1, Infinity, Number.NaN]) assert.throws(() => new TokenBucket(1000, x), RangeError)
    assert.throws(() => new TokenBucket(1000).setRate(0), RangeError)
    assert.equal(limitToRate(undefined), Infinity)
    assert.equal(limitToRate(0), Infinity)
    assert.equal(limitToRate(-3), Infinity)
    assert.equal(limitToRate(Number.NaN), Infinity)
    assert.equal(limitToRate(5000), 5000)
    assert.equal(new TokenBucket(1000).take(0, 0), 0)
    assert.equal(new TokenBucket(1000).take(Number.NaN, 0), 0)
  })
})

describe('Throttle', () => {
  test('both buckets must allow: the tighter limit wins, whichever it is', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10_000, max: 2_000_000 }), fc.integer({ min: 10_000, max: 2_000_000 }), (client, torrent) => {
        const t = new Throttle(new TokenBucket(client), new TokenBucket(torrent))
        const want = Math.min(client, torrent)
        const duration = Math.max(60_000, (100 * 1000 * Math.max(t.client.burst, t.torrent.burst)) / want)
        const { bytes, end } = greedy(t, 0, duration, () => 16384)
        const avg = (bytes * 1000) / end
        assert.ok(Math.abs(avg - want) / want < 0.02, `average ${avg}, want ${want}`)
      }),
      { numRuns: 30 }
    )
  })

  test('torrents share the client bucket; one held back by its own limit does not eat the client budget', () => {
    const client = new TokenBucket(1_000_000)
    const slow = new Throttle(client, new TokenBucket(50_000))
    const fast = new Throttle(client, new TokenBucket(Infinity))
    // Both greedy, interleaved in simulated time: each acts at its own next wake-up.
    const next = { slow: 0, fast: 0 }
    const sent = { slow: 0, fast: 0 }
    const until = 120_000
    for (let guard = 0; Math.min(next.slow, next.fast) < until; guard++) {
      assert.ok(guard < 1_000_000, 'the limiter never made the senders wait')
      const who = next.slow <= next.fast ? 'slow' : 'fast'
      const now = next[who]
      const wait = (who === 'slow' ? slow : fast).take(16384, now)
      if (wait === 0) sent[who] += 16384
      else next[who] = now + wait
    }
    const rate = (n: number): number => (n * 1000) / until
    // And directly: refusals by the torrent's own bucket leave the client's untouched.
    const c2 = new TokenBucket(1000, 1000)
    const held = new Throttle(c2, new TokenBucket(1000, 100))
    assert.equal(held.take(100, 0), 0)
    for (let i = 0; i < 5; i++) assert.equal(held.take(100, 0), 100)
    assert.equal(c2.available(0), 900)
    assert.ok(Math.abs(rate(sent.slow) - 50_000) / 50_000 < 0.02, `slow ${rate(sent.slow)}`)
    assert.ok(Math.abs(rate(sent.slow + sent.fast) - 1_000_000) / 1_000_000 < 0.02, `total ${rate(sent.slow + sent.fast)}`)
  })

  test('delay and available look without charging; charge counts bytes that moved anyway', () => {
    const t = new Throttle(new TokenBucket(1000, 1000), new TokenBucket(2000, 500))
    assert.equal(t.available(0), 500)
    assert.equal(t.delay(500, 0), 0)
    assert.equal(t.available(0), 500)
    t.charge(700, 0)
    assert.equal(t.client.available(0), 300)
    assert.equal(t.torrent.available(0), -200)
    assert.equal(t.delay(100, 0), 150, 'torrent: 300 bytes at 2 bytes/ms')
    assert.equal(t.delay(400, 0), 300, 'the longer wait: torrent 600 bytes at 2 bytes/ms (client: 100 ms)')
  })
})
