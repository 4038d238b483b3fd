/**
 * lib/engine/swarm/tracker.ts against an embedded bittorrent-tracker server over
 * HTTP and UDP (started / completed / stopped, peers handed over, counts),
 * retries with backoff when the tracker cannot be reached, and trackers of the
 * test's own for tracker id, min interval, the external port and bad answers.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startTracker as startSession } from '../../../lib/engine/swarm/tracker.ts'
import { startTracker as startServer } from '../../support/peers/tracker-server.ts'
import { freePort } from '../../support/peers/ports.ts'
import { keepAlive } from '../../support/keep-alive.ts'
import { pollUntil } from '../../support/peers/wait.ts'
import { formatAddress } from '../../../lib/engine/swarm/address.ts'
import { Server } from 'bittorrent-tracker'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSocket } from 'node:dgram'
import { ManualTimers } from '../../support/manual-timers.ts'

const hex = (n: number): string => randomBytes(n).toString('hex')

test('announces started, completed and stopped over HTTP and UDP, and passes peers on', { timeout: 30000 }, async (t) => {
  keepAlive(t)
  const server = await startServer({ intervalMs: 60000 })
  t.after(() => server.close())
  const infoHash = hex(20)
  const seen: string[] = []
  let counts: [number, number] | undefined
  // Another peer is already registered (a seeder on port 7001).
  const other = startSession({
    infoHash,
    peerId: hex(20),
    announce: [server.httpAnnounce],
    port: 7001,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 0 }),
    onPeer: () => {}
  })
  t.after(() => other.stop())
  await server.waitForSeeders(infoHash, 1, 10000)

  const session = startSession({
    infoHash,
    peerId: hex(20),
    announce: [server.httpAnnounce, server.udpAnnounce, 'wss://ignored.example/announce'],
    port: 7002,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1000 }),
    onPeer: (host, port) => seen.push(`${host}:${port}`),
    onCounts: (seeds, leechers) => (counts = [seeds, leechers])
  })
  let stopped = false
  t.after(() => (stopped ? undefined : session.stop()))

  await pollUntil(() => seen.includes('127.0.0.1:7001'), { timeoutMs: 10000, what: 'the other peer handed over' })
  await pollUntil(() => counts !== undefined && counts[0] >= 1, { timeoutMs: 10000, what: 'tracker counts' })
  const mine = () => server.announces.filter((a) => a.addr.endsWith(':7002'))
  await pollUntil(
    () => mine().filter((a) => a.event === 'start').map((a) => a.type).sort().join() === 'http,udp',
    { timeoutMs: 10000, what: 'started over HTTP and UDP', explain: () => JSON.stringify(mine()) }
  )
  session.completed()
  await pollUntil(() => mine().filter((a) => a.event === 'complete').length === 2, { timeoutMs: 10000, what: 'completed x2' })
  await session.stop()
  stopped = true
  await pollUntil(() => mine().filter((a) => a.event === 'stop').length >= 1, { timeoutMs: 10000, what: 'stopped' })
})

test('an unreachable tracker is retried with growing delays', { timeout: 30000 }, async (t) => {
  keepAlive(t)
  const port = await freePort('both')
  const warnings: number[] = []
  const session = startSession({
    infoHash: hex(20),
    peerId: hex(20),
    announce: [`http://127.0.0.1:${port}/announce`],
    port: 7003,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    onPeer: () => {},
    onWarning: () => warnings.push(Date.now()),
    backoff: 200,
    maxBackoff: 800
  })
  t.after(() => session.stop())
  await pollUntil(() => warnings.length >= 5, { timeoutMs: 15000, what: 'five failed announces' })
  const gaps = warnings.slice(1, 5).map((w, i) => w - warnings[i]!)
  // 200, 400, 800, 800 ms (capped): growing, never hammering.
  assert.ok(gaps[0]! >= 150 && gaps[1]! >= 350 && gaps[2]! >= 700 && gaps[3]! >= 700, `gaps ${gaps}`)
  assert.ok(gaps[3]! < 2000, `capped: ${gaps}`)
})

test('IPv6: peers6 from an HTTP tracker on ::1 (bittorrent-tracker\'s server) are handed over', { timeout: 30000 }, async (t) => {
  keepAlive(t)
  const server = new Server({ http: true, udp: false, ws: false, stats: false })
  server.on('warning', () => {})
  server.on('error', () => {})
  await new Promise<void>((resolve) => server.listen(0, '::1', () => resolve()))
  t.after(() => new Promise<void>((resolve) => { server.http?.closeAllConnections?.(); server.close(() => resolve()) }))
  const port = (server.http!.address() as AddressInfo).port
  const announce = `http://[::1]:${port}/announce`
  const infoHash = hex(20)
  const other = startSession({ infoHash, peerId: hex(20), announce: [announce], port: 7011, stats: () => ({ uploaded: 0, downloaded: 0, left: 0 }), onPeer: () => {} })
  t.after(() => other.stop())
  await pollUntil(() => (server.torrents[infoHash]?.complete ?? 0) >= 1, { timeoutMs: 10000, what: 'the seeder registered from ::1' })
  const seen: string[] = []
  const session = startSession({
    infoHash, peerId: hex(20), announce: [announce], port: 7012,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 10 }),
    onPeer: (host, p) => seen.push(formatAddress(host, p))
  })
  t.after(() => session.stop())
  await pollUntil(() => seen.includes('[::1]:7011'), { timeoutMs: 10000, what: 'the IPv6 peer from peers6', explain: () => seen.join() })
})

test('malformed peers6 gives a warning; the IPv4 peers of the same answer still arrive', { timeout: 30000 }, async (t) => {
  keepAlive(t)
  const v6 = Buffer.alloc(17, 1) // not a multiple of 18
  const body = Buffer.concat([
    Buffer.from('d8:completei1e10:incompletei0e8:intervali600e5:peers6:'), Buffer.from([127, 0, 0, 9, 0x1b, 0x39]),
    Buffer.from(`6:peers6${v6.length}:`), v6, Buffer.from('e')
  ])
  const http = createServer((_req, res) => res.end(body))
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { http.closeAllConnections(); http.close(() => resolve()) }))
  const seen: string[] = []
  const warnings: string[] = []
  const session = startSession({
    infoHash: hex(20), peerId: hex(20), announce: [`http://127.0.0.1:${(http.address() as AddressInfo).port}/announce`], port: 7013,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 10 }),
    onPeer: (host, p) => seen.push(formatAddress(host, p)),
    onWarning: (m) => warnings.push(m),
    backoff: 60000
  })
  t.after(() => session.stop())
  await pollUntil(() => warnings.length >= 1 && seen.length >= 1, { timeoutMs: 10000, what: 'a warning and the IPv4 peer' })
  assert.deepEqual(seen, ['127.0.0.9:6969'])
  assert.match(warnings[0]!, /18 bytes|IP6/)
})

/** An HTTP tracker of the test's own on 127.0.0.1: records each query, answers `body(query)`. */
const fakeHttp = async (t: { after(fn: () => unknown): void }, body: (q: URLSearchParams) => string | Buffer): Promise<{ url: string, queries: URLSearchParams[] }> => {
  const queries: URLSearchParams[] = []
  const http = createServer((req, res) => {
    const q = new URL(req.url!, 'http://x').searchParams
    queries.push(q)
    res.end(body(q))
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { http.closeAllConnections(); http.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/announce`, queries }
}

test('tracker id is sent back, the external port and address are announced, an extra announce waits for min interval (manual clock)', { timeout: 30000 }, async (t) => {
  const tracker = await fakeHttp(t, () => 'd8:intervali1800e12:min intervali120e10:tracker id4:T-015:peers0:e')
  const clock = new ManualTimers()
  const session = startSession({
    infoHash: hex(20), peerId: hex(20), announce: [tracker.url], port: 7020,
    externalPort: () => 40000, externalIp: () => '203.0.113.7',
    stats: () => ({ uploaded: 5, downloaded: 6, left: 7 }), onPeer: () => {}, timers: clock
  })
  t.after(() => session.stop())
  await pollUntil(() => session.notes()[0]?.state === 'working', { timeoutMs: 10000, what: 'the first answer' })
  const first = tracker.queries[0]!
  assert.deepEqual(['event', 'port', 'ip', 'left', 'compact', 'numwant'].map((k) => first.get(k)), ['started', '40000', '203.0.113.7', '7', '1', '80'])
  assert.equal(first.get('trackerid'), null)
  assert.match(first.get('key') ?? '', /^[0-9a-f]{8}$/)
  assert.deepEqual(clock.delays(), [1_800_000]) // the tracker's interval
  session.update()
  assert.deepEqual(clock.delays(), [120_000]) // sooner, but not before its min interval
  clock.advance(120_000)
  await pollUntil(() => tracker.queries.length === 2, { timeoutMs: 10000, what: 'the extra announce' })
  assert.equal(tracker.queries[1]!.get('trackerid'), 'T-01')
  assert.equal(tracker.queries[1]!.get('event'), null)
  assert.equal(tracker.queries[1]!.get('key'), first.get('key'))
})

test('bad answers and a silent UDP tracker end in clear notes, never a crash', { timeout: 30000 }, async (t) => {
  keepAlive(t)
  const junk = await fakeHttp(t, () => '<html>bad gateway</html>')
  const refusing = await fakeHttp(t, () => 'd14:failure reason17:torrent not founde')
  const warning = await fakeHttp(t, () => 'd15:warning message9:slow down8:intervali900e5:peers6:\x7f\x00\x00\x01\x1b\x58e')
  const silent = createSocket('udp4')
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => silent.close(() => resolve())))
  const silentUrl = `udp://127.0.0.1:${(silent.address() as AddressInfo).port}`
  const seen: string[] = []
  const session = startSession({
    infoHash: hex(20), peerId: hex(20), port: 7021,
    announce: [junk.url, refusing.url, warning.url, silentUrl, 'wss://tracker.example/announce'],
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    onPeer: (host, port) => seen.push(formatAddress(host, port)),
    backoff: 60000, udpRetryMs: 50
  })
  t.after(() => session.stop())
  await pollUntil(() => session.notes().every((n) => n.state !== 'pending'), { timeoutMs: 15000, what: 'every tracker settled', explain: () => JSON.stringify(session.notes()) })
  const [a, b, c, d, e] = session.notes()
  assert.equal(a!.state, 'failing')
  assert.match(a!.error!, /not bencode/)
  assert.equal(b!.state, 'failing')
  assert.match(b!.error!, /tracker refused: torrent not found/)
  assert.deepEqual([c!.state, c!.warning, c!.peers], ['working', 'slow down', 1])
  assert.equal(d!.state, 'failing')
  assert.match(d!.error!, /no answer from the tracker at 127\.0\.0\.1:\d+/)
  assert.equal(e!.state, 'failing')
  assert.match(e!.error!, /not an HTTP, HTTPS or UDP tracker/)
  assert.ok(a!.next! > Date.now() + 30000, 'a failing tracker waits for its back-off')
  assert.deepEqual(seen, ['127.0.0.1:7000'])
})
