/**
 * The demo's own HTTP tracker (cli/demo/tracker.ts): the engine's tracker client
 * on 127.0.0.1 and ::1 (compact peers and peers6), dictionary peer lists,
 * scrapes read by the engine's scrape, bad requests refused with a reason, and
 * a real client (aria2c) found through it by the engine.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { startLocalTracker } from '../../../cli/demo/tracker.ts'
import { startTracker as startSession } from '../../../lib/engine/swarm/tracker.ts'
import { scrape } from '../../../lib/engine/swarm/scrape.ts'
import { httpReply } from '../../../lib/engine/swarm/tracker-reply.ts'
import { formatAddress } from '../../../lib/engine/swarm/address.ts'
import { keepAlive } from '../../support/keep-alive.ts'
import { pollUntil } from '../../support/peers/wait.ts'
import { runEngine } from '../../support/engine.ts'
import { makeTempDir } from '../../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../../support/peers/data.ts'
import { mktorrent } from '../../support/peers/mktorrent.ts'
import { startAria2Seeder } from '../../support/peers/aria2.ts'
import { parseMetainfo } from '../../../lib/engine/metainfo/index.ts'


for (const host of ['127.0.0.1', '::1']) {
  test(`on ${host}: two sessions meet, scrape counts them, stopped removes them`, { timeout: 30_000 }, async (t) => {
    keepAlive(t)
    const tracker = await startLocalTracker({ host })
    t.after(() => tracker.close())
    const hash = randomBytes(20)
    const session = (port: number, left: number, onPeer: (a: string) => void = () => {}) => startSession({
      infoHash: hash.toString('hex'), peerId: randomBytes(20).toString('hex'), announce: [tracker.announce], port,
      stats: () => ({ uploaded: 0, downloaded: 0, left }), onPeer: (h, p) => onPeer(formatAddress(h, p))
    })
    const seed = session(42001, 0)
    await pollUntil(() => seed.notes()[0]?.state === 'working', { timeoutMs: 10_000, what: 'the seed announced' })
    const seen: string[] = []
    const leech = session(42002, 5, (a) => seen.push(a))
    const expected = formatAddress(host, 42001)
    await pollUntil(() => seen.includes(expected), { timeoutMs: 10_000, what: `${expected} given`, explain: () => JSON.stringify([seen, leech.notes()]) })
    assert.deepEqual(await scrape(tracker.announce, hash), { complete: 1, incomplete: 1, downloaded: 0 })
    await Promise.all([seed.stop(), leech.stop()])
    assert.deepEqual(await scrape(tracker.announce, hash), { complete: 0, incomplete: 0, downloaded: 0 })
  })
}

test('compact=0 gives a dictionary list; bad requests get a failure reason; unknown paths 404', async (t) => {
  const tracker = await startLocalTracker()
  t.after(() => tracker.close())
  const pct = (b: Buffer): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')
  const hash = randomBytes(20)
  const q = (port: number, extra = ''): string => `${tracker.announce}?info_hash=${pct(hash)}&peer_id=${pct(randomBytes(20))}&port=${port}&left=1${extra}`
  await fetch(q(43001))
  const body = new Uint8Array(await (await fetch(q(43002, '&compact=0'))).arrayBuffer())
  assert.deepEqual(httpReply(body).peers, [{ host: '127.0.0.1', port: 43001 }])
  assert.throws(() => httpReply(new Uint8Array([])), /not bencode/)
  const bad = async (url: string): Promise<string> => {
    try {
      httpReply(new Uint8Array(await (await fetch(url)).arrayBuffer()))
      return 'accepted'
    } catch (err) {
      return (err as Error).message
    }
  }
  assert.match(await bad(`${tracker.announce}?info_hash=abc&peer_id=x&port=1`), /must be 20 bytes/)
  assert.match(await bad(q(0)), /port must be 1 to 65535/)
  assert.equal((await fetch(tracker.announce.replace('/announce', '/other'))).status, 404)
})

test('the engine finds an aria2c seeder through it and downloads', { timeout: 120_000 }, async (t) => {
  const tracker = await startLocalTracker({ intervalSeconds: 2 })
  t.after(() => tracker.close())
  const tmp = await makeTempDir('demo-tracker-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 2 << 20, fileCount: 2 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: [tracker.announce], pieceLengthLog2: 16 })
  const seeder = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root) })
  t.after(() => seeder.close())
  const meta = await parseMetainfo(made.bytes)
  assert.ok(meta.ok)
  await pollUntil(async () => (await scrape(tracker.announce, meta.value.infoHashBytes)).complete >= 1, { timeoutMs: 20_000, what: 'aria2c listed' })
  const engine = runEngine(t)
  const id = await engine.create(made.bytes, join(tmp.path, 'out'))
  await engine.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  assert.ok(Object.keys(engine.handles.get(id)!.contributed()).includes(seeder.peer))
})
