/**
 * The engine in a small swarm on 127.0.0.1:
 * - two seeders at once (aria2c and a second engine instance that checks the
 *   data it finds on disk, then seeds it): both deliver bytes;
 * - a seeder killed mid-download while another remains: the download
 *   completes and is correct.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startAria2Seeder, startAria2Leecher } from '../support/peers/aria2.ts'
import { freePort } from '../support/peers/ports.ts'
import { startFakeSeeder } from '../support/fake-seeder.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { pollUntil } from '../support/peers/wait.ts'

test('two seeders at once, aria2c and another engine: both contribute', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('eng-2seed-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 20 << 20, fileCount: 4 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
  // Both seeders capped so that neither can take the whole download alone.
  const aria = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root), maxUploadBytesPerSec: 4 << 20 })
  t.after(() => aria.close())

  const seederPort = await freePort()
  const seeder = runEngine(t, { port: seederPort, host: '127.0.0.1', uploadRateLimit: 4 << 20 })
  const sid = await seeder.create(made.bytes, dirname(tree.root))
  const checked = await seeder.waitActivity(sid, 'seeding', 20000)
  assert.equal(checked.piecesDone, checked.piecesTotal, 'the second engine found all data by checking')

  const leecher = runEngine(t, { uploadSlots: 4 })
  const out = join(tmp.path, 'out')
  const lid = await leecher.create(made.bytes, out, [aria.peer, `127.0.0.1:${seederPort}`])
  const done = await leecher.waitActivity(lid, 'seeding', 40000)
  assert.equal(done.piecesDone, done.piecesTotal)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)

  const by = leecher.handles.get(lid)!.contributed()
  assert.ok((by[aria.peer] ?? 0) > 0, `aria2c delivered nothing: ${JSON.stringify(by)}`)
  assert.ok((by[`127.0.0.1:${seederPort}`] ?? 0) > 0, `the seeding engine delivered nothing: ${JSON.stringify(by)}`)
  // The seeding engine's own figures agree (its status is at most one interval behind).
  await pollUntil(() => {
    const s = seeder.latest(sid)
    return s !== undefined && s.upTotal >= (by[`127.0.0.1:${seederPort}`] ?? 0) && s.activity === 'seeding'
  }, { timeoutMs: 5000, what: 'seeder upTotal', explain: () => JSON.stringify(seeder.latest(sid)) })
})

test('a seeder killed mid-download: the other one finishes it', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('eng-kill-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 16 << 20, fileCount: 3 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
  const a = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root), maxUploadBytesPerSec: 2 << 20 })
  t.after(() => a.close())
  const b = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root), maxUploadBytesPerSec: 2 << 20 })
  t.after(() => b.close())

  const leecher = runEngine(t, { requestTimeout: 3000 })
  const out = join(tmp.path, 'out')
  const id = await leecher.create(made.bytes, out, [a.peer, b.peer])
  const midway = await pollUntil(() => {
    const s = leecher.latest(id)
    return s && s.piecesDone > s.piecesTotal * 0.2 ? s : undefined
  }, { timeoutMs: 30000, what: '20% downloaded' })
  assert.ok(midway.piecesDone < midway.piecesTotal, 'still downloading when the seeder dies')
  a.process.signal('SIGKILL')
  await a.process.exited

  const done = await leecher.waitActivity(id, 'seeding', 40000)
  assert.equal(done.piecesDone, done.piecesTotal)
  assert.equal(done.discarded, 0)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  const by = leecher.handles.get(id)!.contributed()
  assert.ok((by[a.peer] ?? 0) > 0 && (by[b.peer] ?? 0) > 0, JSON.stringify(by))
})

test('a corrupting seeder beside an honest one: hash failures, ban, correct data', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('eng-bad-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 12 << 20, fileCount: 3 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  const meta = parsed.value
  const liar = await startFakeSeeder({
    torrent: {
      infoHash: meta.infoHash,
      pieceLength: meta.pieceLength,
      length: meta.length,
      files: meta.files.map((f) => ({ path: f.path.join('/'), length: f.length, offset: f.offset }))
    },
    dir: dirname(tree.root),
    corrupt: () => true
  })
  t.after(() => liar.close())
  // The honest seeder is capped, so the liar (fast, in process) gets plenty of requests.
  const honest = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root), maxUploadBytesPerSec: 4 << 20 })
  t.after(() => honest.close())

  const leecher = runEngine(t, { banStrikes: 2 })
  const out = join(tmp.path, 'out')
  const id = await leecher.create(made.bytes, out, [liar.peer, honest.peer])
  const done = await leecher.waitActivity(id, 'seeding', 45000)
  assert.equal(done.piecesDone, done.piecesTotal)
  assert.ok(done.discarded > 0, 'bad pieces were thrown away')
  assert.equal(done.discarded % meta.pieceLength, 0, 'whole pieces are discarded')
  assert.ok(liar.stats().corruptBlocksSent > 0)
  assert.ok(leecher.handles.get(id)!.banned().includes(liar.peer), `banned: ${leecher.handles.get(id)!.banned()}`)
  // An untrusted peer may hold two pieces of unverified data: the liar costs a few pieces at most.
  assert.ok(done.discarded <= 6 * meta.pieceLength, `discarded ${done.discarded}: the liar was banned early`)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
})

test('a peer that stops answering: its requests time out, are cancelled and go elsewhere', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('eng-stall-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 8 << 20, fileCount: 2 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  const meta = parsed.value
  let cancels = 0
  let doneAtFirstCancel: number | undefined
  let progress = (): number => 0
  // Answers each request only after 4 s: far past the engine's 1 s request timeout.
  const sluggish = await startFakeSeeder({
    torrent: {
      infoHash: meta.infoHash,
      pieceLength: meta.pieceLength,
      length: meta.length,
      files: meta.files.map((f) => ({ path: f.path.join('/'), length: f.length, offset: f.offset }))
    },
    dir: dirname(tree.root),
    slowMs: 4000,
    onWire: (wire) =>
      wire.on('cancel', () => {
        cancels++
        doneAtFirstCancel ??= progress()
      })
  })
  t.after(() => sluggish.close())
  const honest = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root), maxUploadBytesPerSec: 2 << 20 })
  t.after(() => honest.close())

  const leecher = runEngine(t, { requestTimeout: 1000 })
  const out = join(tmp.path, 'out')
  const id = await leecher.create(made.bytes, out, [sluggish.peer, honest.peer])
  progress = () => leecher.latest(id)?.fractionDone ?? 0
  const done = await leecher.waitActivity(id, 'seeding', 40000)
  assert.equal(done.piecesDone, done.piecesTotal)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  assert.ok(sluggish.stats().requests > 0, 'the sluggish peer was asked')
  assert.ok(cancels > 0, 'timed-out requests were cancelled')
  // Endgame cancels come only at the very end; a timeout's cancel comes long before.
  assert.ok(doneAtFirstCancel !== undefined && doneAtFirstCancel < 0.5, `first cancel at ${doneAtFirstCancel}`)
  const by = leecher.handles.get(id)!.contributed()
  assert.ok((by[honest.peer] ?? 0) >= meta.length / 2, `the honest peer did most of it: ${JSON.stringify(by)}`)
})

test('aria2c downloads a whole torrent from the engine alone (upload path)', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('eng-up-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 16 << 20, fileCount: 3 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
  const out = join(tmp.path, 'out')
  const leecher = await startAria2Leecher({ torrentPath: made.path, dir: out })
  t.after(() => leecher.close())
  const seeder = runEngine(t)
  // aria2c takes no explicit peers: the engine dials it.
  const id = await seeder.create(made.bytes, dirname(tree.root), [leecher.peer])
  await leecher.waitDone(40000)
  assert.equal(await compareTrees(tree.root, join(out, 'payload'), { ignoreExtra: true }), undefined)
  const s = await pollUntil(() => {
    const x = seeder.latest(id)
    return x && x.upTotal >= 16 << 20 ? x : undefined
  }, { timeoutMs: 5000, what: 'upTotal', explain: () => JSON.stringify(seeder.latest(id)) })
  assert.equal(s.activity, 'seeding')
})
