import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, get } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startScrapes, nextScrapeDelay, type TrackerScrape } from '../../../lib/engine/swarm/scrape-session.ts'
import { startOpentracker } from '../../support/peers/opentracker.ts'
import { pollUntil } from '../../support/peers/wait.ts'

const pct = (b: Uint8Array): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')

test('schedule: the interval after a success, a doubling retry after failures, capped', () => {
  assert.equal(nextScrapeDelay(0, 1_800_000, 60_000), 1_800_000)
  assert.equal(nextScrapeDelay(1, 1_800_000, 60_000), 60_000)
  assert.equal(nextScrapeDelay(3, 1_800_000, 60_000), 240_000)
  assert.equal(nextScrapeDelay(10, 1_800_000, 60_000), 1_800_000)
})

test('per-tracker results from opentracker (HTTP and UDP) beside a junk tracker; refresh picks up a new seeder', async (t) => {
  const tracker = await startOpentracker()
  t.after(() => tracker.close())
  const hash = randomBytes(20)
  await tracker.allow(hash.toString('hex'))
  const junk = createServer((_req, res) => res.end('this is not bencode'))
  await new Promise<void>((resolve) => junk.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { junk.closeAllConnections(); junk.close(() => resolve()) }))
  const junkUrl = `http://127.0.0.1:${(junk.address() as AddressInfo).port}/announce`
  const updates: TrackerScrape[] = []
  const session = startScrapes({
    infoHash: hash,
    announce: [tracker.httpAnnounce, tracker.udpAnnounce, junkUrl, 'http://127.0.0.1:9/no-convention'],
    retryMs: 60_000,
    onUpdate: (s) => updates.push(s)
  })
  t.after(() => session.stop())
  await pollUntil(() => updates.length >= 3, { timeoutMs: 20_000, what: 'three first scrapes' })
  const byUrl = new Map(session.results().map((r) => [r.url, r]))
  assert.equal(byUrl.size, 3) // the tracker without a scrape convention is left out
  assert.deepEqual(byUrl.get(tracker.httpAnnounce)?.counts, { complete: 0, incomplete: 0, downloaded: 0 })
  assert.deepEqual(byUrl.get(tracker.udpAnnounce)?.counts, { complete: 0, incomplete: 0, downloaded: 0 })
  assert.match(byUrl.get(junkUrl)?.error ?? '', /not bencode/)
  assert.ok((byUrl.get(junkUrl)?.next ?? 0) - Date.now() > 30_000, 'a failed tracker is retried later, not at once')
  // a seeder arrives; a refresh sees it on both protocols
  const peerId = Buffer.from(`-TP0000-${randomBytes(6).toString('hex')}`)
  // A fresh connection: opentracker closes its end after each answer, and a pooled socket may already be closed.
  const announce = `${tracker.httpAnnounce}?info_hash=${pct(hash)}&peer_id=${pct(peerId)}&port=40100&uploaded=0&downloaded=0&left=0&compact=1&event=started`
  await new Promise<void>((resolve, reject) => {
    get(announce, { agent: false }, (res) => res.resume().on('end', resolve).on('error', reject)).on('error', reject)
  })
  await session.refresh()
  const after = new Map(session.results().map((r) => [r.url, r]))
  assert.equal(after.get(tracker.httpAnnounce)?.counts?.complete, 1)
  assert.equal(after.get(tracker.udpAnnounce)?.counts?.complete, 1)
  assert.equal(after.get(tracker.httpAnnounce)?.error, undefined)
})

test('a failure keeps the last good counts and says why', async (t) => {
  let calls = 0
  const session = startScrapes({
    infoHash: randomBytes(20),
    announce: ['udp://127.0.0.1:1'],
    scrape: async () => {
      if (calls++ === 0) return { complete: 4, incomplete: 2, downloaded: 9 }
      throw new Error('tracker gone')
    }
  })
  t.after(() => session.stop())
  await session.refresh()
  await session.refresh()
  const [r] = session.results()
  assert.deepEqual(r!.counts, { complete: 4, incomplete: 2, downloaded: 9 })
  assert.equal(r!.error, 'tracker gone')
})
