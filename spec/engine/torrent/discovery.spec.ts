import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Discovery } from '../../../lib/engine/torrent/discovery.ts'
import type { DhtTorrentHooks } from '../../../lib/engine/swarm/client-dht.ts'
import { randomBytes } from 'node:crypto'
import { startOpentracker } from '../../support/peers/opentracker.ts'
import { pollUntil } from '../../support/peers/wait.ts'
import { startTracker as startEmbeddedTracker } from '../../support/peers/tracker-server.ts'

test('discovery: DHT and LSD peers reach the one callback with their source; stop leaves both', async () => {
  const learnt: string[] = []
  let hooks: DhtTorrentHooks | undefined
  let lsdPeer: ((addr: string) => void) | undefined
  const closed: string[] = []
  let wanted = true
  const d = new Discovery({
    meta: { infoHash: 'ab'.repeat(20), infoHashBytes: Buffer.from('ab'.repeat(20), 'hex'), announce: [], private: false },
    ctx: {
      peerId: 'cd'.repeat(20),
      port: 6881,
      joinDht: (_ih, _priv, h) => ((hooks = h), { close: () => closed.push('dht') } as never),
      joinLsd: (_ih, _priv, onPeer) => ((lsdPeer = onPeer), { close: () => closed.push('lsd') } as never)
    },
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    onPeer: (addr, source) => learnt.push(`${source} ${addr}`),
    onCounts: () => {},
    wanted: () => wanted
  })
  d.start()
  hooks!.onPeer('10.0.0.1', 6881)
  hooks!.onPeer('2001:db8::7', 6883)
  lsdPeer!('10.0.0.2:6882')
  assert.deepEqual(learnt, ['dht 10.0.0.1:6881', 'dht [2001:db8::7]:6883', 'lsd 10.0.0.2:6882'])
  assert.equal(hooks!.wanted(), true)
  wanted = false
  assert.equal(hooks!.wanted(), false)
  d.update()
  d.completed()
  await d.stop()
  assert.deepEqual(closed, ['dht', 'lsd'])
})

test('discovery: a tracker URL the library cannot use does not stop the torrent', async () => {
  const d = new Discovery({
    meta: { infoHash: 'ab'.repeat(20), infoHashBytes: Buffer.from('ab'.repeat(20), 'hex'), announce: ['bogus://x'], private: true },
    ctx: { peerId: 'cd'.repeat(20), port: 6881 },
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    onPeer: () => {},
    onCounts: () => {},
    wanted: () => true
  })
  d.start()
  await d.stop()
})

test('discovery: scrapes of its trackers (opentracker, HTTP and UDP) reach the stats; scrape off leaves none', { timeout: 60_000 }, async (t) => {
  const tracker = await startOpentracker()
  t.after(() => tracker.close())
  const hash = randomBytes(20)
  await tracker.allow(hash.toString('hex'))
  const make = (scrape: boolean) => new Discovery({
    meta: { infoHash: hash.toString('hex'), infoHashBytes: hash, announce: [...tracker.announce], private: false },
    ctx: { peerId: randomBytes(20).toString('hex'), port: 6881, scrape },
    stats: () => ({ uploaded: 0, downloaded: 0, left: 0 }),
    onPeer: () => {},
    onCounts: () => {},
    wanted: () => false
  })
  const d = make(true)
  d.start()
  t.after(() => d.stop())
  // our own announce (a seed: left 0) shows in a later scrape; the first ones may predate it
  const rows = await pollUntil(() => {
    const r = d.scrapeStats()
    return r !== undefined && r.length === 2 && r.every((x) => x.complete !== undefined) ? r : undefined
  }, { timeoutMs: 30_000, what: 'both scrapes' })
  assert.deepEqual(rows.map((r) => r.url), [...tracker.announce])
  for (const r of rows) assert.equal(r.error, undefined)
  const off = make(false)
  off.start()
  assert.equal(off.scrapeStats(), undefined)
  await off.stop()
})

test('discovery: a tracker answering junk shows in the tracker notes with the reason; the startTrackers seam replaces the client', { timeout: 30_000 }, async (t) => {
  const { createServer } = await import('node:http')
  const junk = createServer((_req, res) => res.end('<html>oops</html>'))
  await new Promise<void>((resolve) => junk.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { junk.closeAllConnections(); junk.close(() => resolve()) }))
  const url = `http://127.0.0.1:${(junk.address() as { port: number }).port}/announce`
  const hash = randomBytes(20)
  let changes = 0
  const d = new Discovery({
    meta: { infoHash: hash.toString('hex'), infoHashBytes: hash, announce: [url], private: false },
    ctx: { peerId: randomBytes(20).toString('hex'), port: 6881, scrape: false, changed: () => { changes++ } },
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    onPeer: () => {},
    onCounts: () => {},
    wanted: () => true
  })
  d.start()
  t.after(() => d.stop())
  const notes = await pollUntil(() => (d.trackerStats()?.[0]?.state === 'failing' ? d.trackerStats() : undefined), { timeoutMs: 20_000, what: 'the failing note' })
  assert.equal(notes![0]!.url, url)
  assert.match(notes![0]!.error!, /not bencode/)
  assert.ok(changes >= 1, 'a note change asks for a status update')

  const started: string[][] = []
  const seam = new Discovery({
    meta: { infoHash: hash.toString('hex'), infoHashBytes: hash, announce: [url], private: false },
    ctx: {
      peerId: randomBytes(20).toString('hex'), port: 6881, scrape: false, externalPort: () => 40000,
      startTrackers: (o) => {
        started.push([...o.announce, String(o.externalPort?.())])
        return { completed() {}, update() {}, notes: () => [{ url, state: 'working', peers: 7 }], stop: async () => {} }
      }
    },
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    onPeer: () => {},
    onCounts: () => {},
    wanted: () => true
  })
  seam.start()
  assert.deepEqual(started, [[url, '40000']])
  assert.deepEqual(seam.trackerStats(), [{ url, state: 'working', peers: 7 }])
  await seam.stop()
})

test('discovery: a hybrid announces its v1 hash and its v2 key to a real tracker, the DHT and LSD; a v1 torrent only its hash', { timeout: 60_000 }, async (t) => {
  const tracker = await startEmbeddedTracker({ intervalMs: 60_000 })
  t.after(() => tracker.close())
  const v1 = 'ab'.repeat(20)
  const v2 = 'ef'.repeat(32)
  const run = async (version: 'v1' | 'hybrid') => {
    const joined: string[] = []
    const d = new Discovery({
      meta: { infoHash: v1, infoHashBytes: Buffer.from(v1, 'hex'), announce: [tracker.httpAnnounce], private: false, version, ...(version === 'hybrid' ? { v2: { infoHash: v2 } as never } : {}) },
      ctx: {
        peerId: randomBytes(20).toString('hex'),
        port: 6881,
        scrape: false,
        joinDht: (ih) => ((joined.push(`dht ${ih}`)), { close: () => {} } as never),
        joinLsd: (ih) => ((joined.push(`lsd ${ih}`)), { close: () => {} } as never)
      },
      stats: () => ({ uploaded: 0, downloaded: 0, left: 0 }),
      onPeer: () => {},
      onCounts: () => {},
      wanted: () => true
    })
    d.start()
    return { d, joined }
  }
  const hybrid = await run('hybrid')
  await tracker.waitForSeeders(v1, 1)
  await tracker.waitForSeeders(v2.slice(0, 40), 1)
  assert.deepEqual(hybrid.joined.sort(), [`dht ${v1}`, `dht ${v2.slice(0, 40)}`, `lsd ${v1}`, `lsd ${v2.slice(0, 40)}`].sort())
  await hybrid.d.stop()
  const stopped = tracker.announces.filter((a) => a.event === 'stop').map((a) => a.infoHash).sort()
  assert.deepEqual(stopped, [v1, v2.slice(0, 40)].sort(), 'both swarms hear we stopped')
  const plain = await run('v1')
  assert.deepEqual(plain.joined, [`dht ${v1}`, `lsd ${v1}`])
  await plain.d.stop()
})
