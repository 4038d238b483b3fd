/**
 * BEP 19 web seeds end to end: the engine downloads torrents whose `url-list`
 * points at a Debian nginx started by the test on 127.0.0.1, alone (HTTP and
 * HTTPS with a self-signed certificate), beside an aria2c seeder, beside a
 * broken web seed (404), and beside one that lies in one piece.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { cp, open } from 'node:fs/promises'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startNginx, type Nginx } from '../support/peers/nginx.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import type { TorrentStats } from '../../lib/messages.ts'

const SIZE = 12 << 20

const fixture = async (t: { after(fn: () => unknown): void }, seeds: (web: Nginx) => string[], https = false) => {
  const web = await startNginx({ https })
  t.after(() => web.close())
  const tmp = await makeTempDir('eng-ws-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(web.root, 'good', 'payload'), { totalBytes: SIZE, fileCount: 4 })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16, webSeeds: seeds(web) })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  return { web, tmp, tree, made, meta: parsed.value }
}

const webBytes = (s: TorrentStats | undefined): number => (s?.webSeeds ?? []).reduce((a, w) => a + w.downloaded, 0)

test('a web seed alone: the whole torrent over HTTP, then over HTTPS with a trusted self-signed certificate', { timeout: 120_000 }, async (t) => {
  for (const https of [false, true]) {
    const { web, tmp, tree, made, meta } = await fixture(t, (w) => [`${https ? w.httpsBase : w.base}good/`], https)
    const engine = runEngine(t, https ? { webSeedCa: web.ca! } : {})
    const id = await engine.create(made.bytes, join(tmp.path, 'out'))
    const done = await engine.waitSeeding(id, 90_000)
    assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
    assert.equal(done.numPeers, 0)
    assert.equal(webBytes(engine.latest(id)), meta.length, JSON.stringify(engine.latest(id)?.webSeeds))
    // whole pieces in long runs: far fewer requests than 16 KiB blocks would need
    const requests = await web.requests()
    assert.ok(requests.length <= meta.pieceCount / 4, `${requests.length} requests for ${meta.pieceCount} pieces`)
  }
})

test('a web seed beside an aria2c seeder: both may serve, the bytes are counted by source', { timeout: 120_000 }, async (t) => {
  const { web, tmp, tree, made, meta } = await fixture(t, (w) => [`${w.base}good/`])
  const seedDir = join(tmp.path, 'aria')
  await cp(join(web.root, 'good'), seedDir, { recursive: true })
  const aria = await startAria2Seeder({ torrentPath: made.path, dir: seedDir })
  t.after(() => aria.process.close())
  const engine = runEngine(t)
  const id = await engine.create(made.bytes, join(tmp.path, 'out'), [aria.peer])
  await engine.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  const contributed = engine.handles.get(id)!.contributed()
  const fromWeb = contributed[`web:${web.base}good/`] ?? 0
  const fromPeers = Object.entries(contributed).filter(([k]) => !k.startsWith('web:')).reduce((a, [, v]) => a + v, 0)
  assert.ok(fromWeb > 0, JSON.stringify(contributed))
  assert.equal(webBytes(engine.latest(id)), fromWeb)
  assert.ok(fromWeb + fromPeers >= meta.length, JSON.stringify(contributed))
})

test('a broken web seed (404) beside a good one: the good one finishes, the broken one rests with its reason', { timeout: 120_000 }, async (t) => {
  const { tmp, tree, made } = await fixture(t, (w) => [`${w.base}missing/`, `${w.base}good/`])
  const engine = runEngine(t)
  const id = await engine.create(made.bytes, join(tmp.path, 'out'))
  await engine.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  const [broken, good] = engine.latest(id)!.webSeeds!
  assert.equal(broken!.downloaded, 0)
  assert.match(broken!.reason ?? '', /HTTP 404/)
  assert.ok(good!.downloaded > 0)
})

test('a web seed that lies in one piece is dropped; the honest one finishes and nothing bad is kept', { timeout: 120_000 }, async (t) => {
  const { web, tmp, tree, made, meta } = await fixture(t, (w) => [`${w.base}liar/`, `${w.base}good/`])
  await cp(join(web.root, 'good'), join(web.root, 'liar'), { recursive: true })
  // one flipped byte in the first piece: the liar, listed first, claims the first run
  const first = join(web.root, 'liar', ...meta.files[0]!.path)
  const fh = await open(first, 'r+')
  const b = Buffer.alloc(1)
  await fh.read(b, 0, 1, 100)
  await fh.write(Buffer.from([b[0]! ^ 0xff]), 0, 1, 100)
  await fh.close()
  const engine = runEngine(t)
  const id = await engine.create(made.bytes, join(tmp.path, 'out'))
  await engine.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  const s = engine.latest(id)!
  const [liar, good] = s.webSeeds!
  assert.equal(liar!.state, 'dropped')
  assert.match(liar!.reason ?? '', /hash check/)
  assert.ok(liar!.discarded >= meta.pieceLength)
  assert.ok(good!.downloaded > 0)
  assert.ok(s.discarded >= meta.pieceLength)
})

test('a magnet\'s ws= web seed is used once the metadata arrives from a peer', { timeout: 120_000 }, async (t) => {
  const { web, tmp, tree, made, meta } = await fixture(t, () => [])
  const seedDir = join(tmp.path, 'aria')
  await cp(join(web.root, 'good'), seedDir, { recursive: true })
  const aria = await startAria2Seeder({ torrentPath: made.path, dir: seedDir })
  t.after(() => aria.process.close())
  const engine = runEngine(t)
  const magnet = `magnet:?xt=urn:btih:${meta.infoHash}&ws=${encodeURIComponent(`${web.base}good/`)}&x.pe=${aria.peer}`
  const id = await engine.create(magnet, join(tmp.path, 'out'))
  const done = await engine.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  assert.deepEqual(done.webSeeds?.map((w) => w.url), [`${web.base}good/`])
})
