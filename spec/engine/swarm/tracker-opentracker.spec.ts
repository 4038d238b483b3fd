/**
 * The engine's own tracker client (lib/engine/swarm/tracker.ts) against a real
 * tracker, Debian's opentracker, over UDP and HTTP: started registers a peer
 * another session is then given, completed counts a download, stopped removes
 * the peer; BEP 48 / BEP 15 scrapes of the same tracker agree.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startTracker as startSession } from '../../../lib/engine/swarm/tracker.ts'
import { scrape } from '../../../lib/engine/swarm/scrape.ts'
import { formatAddress } from '../../../lib/engine/swarm/address.ts'
import { startOpentracker } from '../../support/peers/opentracker.ts'
import { keepAlive } from '../../support/keep-alive.ts'
import { pollUntil } from '../../support/peers/wait.ts'


for (const proto of ['udp', 'http'] as const) {
  test(`opentracker over ${proto.toUpperCase()}: peers meet, completed and stopped are counted, scrapes agree`, { timeout: 60_000 }, async (t) => {
    keepAlive(t)
    const tracker = await startOpentracker()
    t.after(() => tracker.close())
    const hash = randomBytes(20)
    await tracker.allow(hash.toString('hex'))
    const url = proto === 'udp' ? tracker.udpAnnounce : tracker.httpAnnounce
    const session = (port: number, left: () => number, onPeer: (addr: string) => void = () => {}) => startSession({
      infoHash: hash.toString('hex'), peerId: randomBytes(20).toString('hex'), announce: [url], port,
      stats: () => ({ uploaded: 0, downloaded: 0, left: left() }),
      onPeer: (host, p) => onPeer(formatAddress(host, p))
    })
    const seed = session(41001, () => 0)
    let stopped = false
    t.after(() => (stopped ? undefined : seed.stop()))
    await pollUntil(() => seed.notes()[0]?.state === 'working', { timeoutMs: 20_000, what: 'the seed announced', explain: () => JSON.stringify(seed.notes()) })

    let left = 1000
    const seen: string[] = []
    const leech = session(41002, () => left, (a) => seen.push(a))
    t.after(() => (stopped ? undefined : leech.stop()))
    await pollUntil(() => seen.includes('127.0.0.1:41001'), { timeoutMs: 20_000, what: 'the seed given to the leecher', explain: () => JSON.stringify(leech.notes()) })
    const note = leech.notes()[0]!
    assert.deepEqual([note.state, note.seeds, note.error], ['working', 1, undefined])
    assert.ok(note.next! > Date.now(), 'the next announce is scheduled')

    for (const via of [tracker.udpAnnounce, tracker.httpAnnounce]) {
      const counts = await scrape(via, hash)
      assert.deepEqual([counts.complete, counts.incomplete], [1, 1], via)
    }
    left = 0
    leech.completed()
    await pollUntil(async () => (await scrape(url, hash)).downloaded >= 1, { timeoutMs: 20_000, what: 'the completed announce counted' })
    assert.equal((await scrape(url, hash)).complete, 2)
    await Promise.all([seed.stop(), leech.stop()])
    stopped = true
    await pollUntil(async () => {
      const c = await scrape(url, hash)
      return c.complete === 0 && c.incomplete === 0
    }, { timeoutMs: 20_000, what: 'both peers gone after stopped' })
  })
}

test('opentracker refuses a torrent it does not serve: the note says so', { timeout: 60_000 }, async (t) => {
  keepAlive(t)
  const tracker = await startOpentracker()
  t.after(() => tracker.close())
  const s = startSession({
    infoHash: randomBytes(20).toString('hex'), peerId: randomBytes(20).toString('hex'), announce: [tracker.httpAnnounce], port: 41003,
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }), onPeer: () => {}, backoff: 60_000
  })
  t.after(() => s.stop())
  const note = await pollUntil(() => (s.notes()[0]?.state === 'failing' ? s.notes()[0] : undefined), { timeoutMs: 20_000, what: 'a refusal' })
  assert.match(note.error!, /tracker refused: .*not authorized/i)
})
