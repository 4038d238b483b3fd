import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { createSocket, type Socket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { scrape, scrapeUrlOf, ScrapeError } from '../../../lib/engine/swarm/scrape.ts'
import { startOpentracker } from '../../support/peers/opentracker.ts'
import { startTracker } from '../../support/peers/tracker-server.ts'

const pct = (b: Uint8Array): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')

/** Announce a peer (a seeder when left is 0) over HTTP, as any client would. */
const announce = async (announceUrl: string, infoHash: Uint8Array, port: number, left: number): Promise<void> => {
  const peerId = Buffer.from(`-TP0000-${randomBytes(6).toString('hex')}`)
  const q = `info_hash=${pct(infoHash)}&peer_id=${pct(peerId)}&port=${port}&uploaded=0&downloaded=0&left=${left}&compact=1&event=started`
  const res = await fetch(`${announceUrl}?${q}`)
  const body = Buffer.from(await res.arrayBuffer()).toString('latin1')
  assert.ok(!body.includes('failure'), body)
}

test('scrape URL convention (BEP 48)', () => {
  assert.equal(scrapeUrlOf('http://t.example/announce'), 'http://t.example/scrape')
  assert.equal(scrapeUrlOf('http://t.example/x/announce.php?k=1'), 'http://t.example/x/scrape.php?k=1')
  assert.equal(scrapeUrlOf('https://t.example/announce?passkey=a/announce'), 'https://t.example/scrape?passkey=a/announce')
  assert.equal(scrapeUrlOf('http://t.example/a'), null)
  assert.equal(scrapeUrlOf('http://t.example/x/announce/y'), null)
  assert.equal(scrapeUrlOf('udp://t.example:80'), 'udp://t.example:80')
  assert.equal(scrapeUrlOf('wss://t.example/announce'), null)
})

test('opentracker: HTTP and UDP scrapes count the seeder and the leecher', async (t) => {
  const tracker = await startOpentracker()
  t.after(() => tracker.close())
  const hash = randomBytes(20)
  await tracker.allow(hash.toString('hex'))
  await announce(tracker.httpAnnounce, hash, 40001, 0)
  await announce(tracker.httpAnnounce, hash, 40002, 1000)
  const http = await scrape(tracker.httpAnnounce, hash)
  assert.equal(http.complete, 1)
  assert.equal(http.incomplete, 1)
  const udp = await scrape(tracker.udpAnnounce, hash)
  assert.equal(udp.complete, 1)
  assert.equal(udp.incomplete, 1)
  // A torrent the tracker has never seen: zero counts, not an error.
  const other = await scrape(tracker.httpAnnounce, randomBytes(20))
  assert.deepEqual([other.complete, other.incomplete], [0, 0])
})

test('embedded tracker (bittorrent-tracker): HTTP and UDP scrapes', async (t) => {
  const tracker = await startTracker()
  t.after(() => tracker.close())
  const hash = randomBytes(20)
  await announce(tracker.httpAnnounce, hash, 40003, 0)
  await announce(tracker.httpAnnounce, hash, 40004, 0)
  await announce(tracker.httpAnnounce, hash, 40005, 500)
  for (const url of [tracker.httpAnnounce, tracker.udpAnnounce]) {
    const counts = await scrape(url, hash)
    assert.equal(counts.complete, 2, url)
    assert.equal(counts.incomplete, 1, url)
  }
})

const httpJunk = async (t: { after: (fn: () => unknown) => void }, answer: (res: import('node:http').ServerResponse) => void): Promise<string> => {
  const server: Server = createServer((_req, res) => answer(res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`
}

test('HTTP junk answers give a clear ScrapeError', async (t) => {
  const hash = randomBytes(20)
  const cases: Array<[string, (res: import('node:http').ServerResponse) => void, RegExp]> = [
    ['not bencode', (res) => res.end('<html>hello</html>'), /not bencode/],
    ['a list', (res) => res.end('li1ee'), /not a dictionary/],
    ['no files', (res) => res.end('d3:fooi1ee'), /no 'files'/],
    ['failure reason', (res) => res.end('d14:failure reason9:forbiddene'), /refused: forbidden/],
    ['negative count', (res) => res.end(Buffer.concat([Buffer.from('d5:filesd20:'), hash, Buffer.from('d8:completei-4eeee')])), /'complete' is not a count/],
    ['entry not a dict', (res) => res.end(Buffer.concat([Buffer.from('d5:filesd20:'), hash, Buffer.from('i3eee')])), /entry is not a dictionary/],
    ['HTTP 500', (res) => { res.statusCode = 500; res.end('oops') }, /HTTP 500/],
    ['an endless body', (res) => { const chunk = Buffer.alloc(64 * 1024, 0x31); const pump = (): void => { while (res.write(chunk)); res.once('drain', pump) }; res.on('error', () => {}); pump() }, /larger than/]
  ]
  for (const [what, answer, reason] of cases) {
    const url = await httpJunk(t, answer)
    await assert.rejects(scrape(url, hash, { timeoutMs: 5000 }), (err: Error) => err instanceof ScrapeError && reason.test(err.message), what)
  }
  // and a good answer from the same kind of server parses
  const good = await httpJunk(t, (res) => res.end(Buffer.concat([Buffer.from('d5:filesd20:'), hash, Buffer.from('d8:completei3e10:downloadedi7e10:incompletei2eeee')])))
  assert.deepEqual(await scrape(good, hash), { complete: 3, incomplete: 2, downloaded: 7 })
})

/** A UDP "tracker" that answers connect properly and then `answer(tx)` to the scrape. */
const udpJunk = async (t: { after: (fn: () => unknown) => void }, answer: ((tx: Buffer) => Buffer) | null, family: 'udp4' | 'udp6' = 'udp4'): Promise<string> => {
  const sock: Socket = createSocket(family)
  const host = family === 'udp4' ? '127.0.0.1' : '::1'
  await new Promise<void>((resolve) => sock.bind(0, host, resolve))
  t.after(() => new Promise<void>((resolve) => sock.close(() => resolve())))
  sock.on('message', (msg, from) => {
    const action = msg.readUInt32BE(8)
    const tx = msg.subarray(12, 16)
    if (action === 0) {
      sock.send(Buffer.concat([Buffer.from([0, 0, 0, 0]), tx, randomBytes(8)]), from.port, from.address)
    } else if (answer !== null) {
      sock.send(answer(Buffer.from(tx)), from.port, from.address)
    }
  })
  const port = (sock.address() as AddressInfo).port
  return family === 'udp4' ? `udp://127.0.0.1:${port}` : `udp://[::1]:${port}`
}

const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }

test('UDP junk answers, an error action and silence give a clear ScrapeError', async (t) => {
  const hash = randomBytes(20)
  const cases: Array<[string, ((tx: Buffer) => Buffer) | null, RegExp]> = [
    ['too short', () => Buffer.from([1, 2, 3]), /3-byte datagram/],
    ['no counts', (tx) => Buffer.concat([u32(2), tx, Buffer.from([0, 0])]), /holds no counts/],
    ['wrong action', (tx) => Buffer.concat([u32(1), tx, Buffer.alloc(12)]), /action 1, expected 2/],
    ['error action', (tx) => Buffer.concat([u32(3), tx, Buffer.from('go away')]), /tracker error: go away/],
    ['silence', null, /no answer/]
  ]
  for (const [what, answer, reason] of cases) {
    const url = await udpJunk(t, answer)
    await assert.rejects(scrape(url, hash, { timeoutMs: 1500 }), (err: Error) => err instanceof ScrapeError && reason.test(err.message), what)
  }
  const good = await udpJunk(t, (tx) => Buffer.concat([u32(2), tx, u32(5), u32(9), u32(4)]))
  assert.deepEqual(await scrape(good, hash), { complete: 5, downloaded: 9, incomplete: 4 })
})

test('UDP scrape of a tracker on ::1 (the socket follows the address family)', async (t) => {
  const hash = randomBytes(20)
  const url = await udpJunk(t, (tx) => Buffer.concat([u32(2), tx, u32(1), u32(2), u32(3)]), 'udp6')
  assert.deepEqual(await scrape(url, hash), { complete: 1, downloaded: 2, incomplete: 3 })
})

test('bad arguments are refused', async () => {
  await assert.rejects(scrape('http://t.example/announce', new Uint8Array(5)), /20 bytes/)
  await assert.rejects(scrape('http://t.example/a', randomBytes(20)), /no scrape URL/)
  await assert.rejects(scrape('udp://127.0.0.1', randomBytes(20)), /no port/)
})
