/**
 * BEP 6 engine to engine on 127.0.0.1: both ends negotiate the fast
 * extension; a seed that keeps choking and unchoking its leechers (one slot,
 * a quick optimistic rotation, a slow upload limit so requests queue up)
 * rejects the queued requests of each leecher it chokes but serves those for
 * its allowed-fast pieces, and the leechers ask for the rejected blocks
 * again and finish without waiting for a request timeout.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { makeTorrent } from '../../lib/maker/index.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'

test('fast extension engine to engine: negotiated, Have All from the seed, rejects after a choke are asked again', { timeout: 180_000 }, async (t) => {
  const tmp = await makeTempDir('eng-fast-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 3 << 20, fileCount: 2 })
  const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:9/announce', pieceLength: 32 << 10 })
  const port = await freePort()
  const seed = runEngine(t, { port, host: '127.0.0.1', uploadSlots: 1, rechokeInterval: 300, optimisticInterval: 300, uploadRateLimit: 1 << 20 })
  const sid = await seed.create(bytes, join(tmp.path, 'seed'))
  await seed.waitSeeding(sid, 30_000)
  const leechers = await Promise.all([0, 1, 2].map(async (i) => {
    // No request may wait for a timeout (longer than the test): each is answered, a block or a Reject.
    const e = runEngine(t, { requestTimeout: 600_000 })
    const id = await e.create(bytes, join(tmp.path, `leech${i}`), [`127.0.0.1:${port}`])
    return { e, id }
  }))
  // Have All: a leecher knows the seed has everything from its first message (no bitfield sent).
  await pollUntil(() => leechers.every(({ e, id }) => e.handles.get(id)!.peers().some((p) => p.fast)), { timeoutMs: 20_000, what: 'fast extension on every connection' })
  // Leechers drop the seed once complete: sample the rejects while they download.
  let rejects = 0
  const sample = setInterval(() => {
    rejects = Math.max(rejects, leechers.reduce((a, { e, id }) => a + (e.handles.get(id)?.peers() ?? []).reduce((b, p) => b + p.rejects, 0), 0))
  }, 50)
  t.after(() => clearInterval(sample))
  for (const { e, id } of leechers) await e.waitSeeding(id, 150_000)
  clearInterval(sample)
  for (const i of [0, 1, 2]) assert.equal(await compareTrees(tree.root, join(tmp.path, `leech${i}`, 'payload')), undefined)
  // Rejections were sent on chokes and the blocks were fetched again; allowed-fast requests were served while choked.
  assert.ok(rejects > 0, 'the seed rejected queued requests when it choked')
})
