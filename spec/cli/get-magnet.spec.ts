/**
 * `torrent-patron get <magnet>` against a local `torrent-patron seed`
 * process: the peer comes from --peer or from the magnet's x.pe; the
 * torrent shows "fetching metadata", then downloads; files identical.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { compareTrees } from '../support/peers/data.ts'
import { jsonLines, runCli, startSeedProcess } from './support.ts'

type T = { after(fn: () => unknown): void }

/** A `seed` process sharing random files; its address and the infohash. */
const seedProcess = async (t: T) => {
  const { tmp, tree, peer } = await startSeedProcess(t, 'cli-magnet-')
  const parsed = await parseMetainfo(await readFile(`${tree.root}.torrent`))
  assert.ok(parsed.ok)
  return { tmp, tree, peer, infoHash: parsed.value.infoHash }
}

test('get <magnet> --peer --json: fetching metadata, then the download; Summary complete; files identical', { timeout: 90_000 }, async (t) => {
  const { tmp, tree, peer, infoHash } = await seedProcess(t)
  const out = join(tmp.path, 'out')
  const r = await runCli(['get', `magnet:?xt=urn:btih:${infoHash}&dn=docs`, '--out', out, '--peer', peer, '--json'], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, `stderr: ${r.stderr}\nstdout tail: ${r.stdout.slice(-2000)}`)
  assert.equal(r.stderr, '')
  const lines = jsonLines(r.stdout)
  assert.equal(lines[0]!['type'], 'NewTorrentCreated')
  assert.equal(lines[0]!['infohash'], infoHash)
  assert.equal(lines[0]!['name'], 'docs')
  const acts = lines.filter((l) => l['type'] === 'TorrentStatusUpdate').map((l) => (l['statsdictionary'] as { activity: string }).activity)
  assert.equal(acts[0], 'fetching metadata', acts.join(', '))
  assert.ok(acts.includes('downloading') || acts.includes('seeding'), acts.join(', '))
  const last = lines.at(-1)!
  assert.equal(last['type'], 'Summary')
  assert.equal(last['result'], 'complete')
  assert.equal(last['size'], 2 << 20, 'the Summary carries the size learnt from the metadata')
  assert.equal(await compareTrees(tree.root, join(out, 'docs')), undefined)
})

test('get <magnet with x.pe>, plain lines: "fetching metadata", then complete; files identical', { timeout: 90_000 }, async (t) => {
  const { tmp, tree, peer, infoHash } = await seedProcess(t)
  const out = join(tmp.path, 'out')
  const r = await runCli(['get', `magnet:?xt=urn:btih:${infoHash}&x.pe=${peer}`, '--out', out], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.match(r.stdout, /fetching metadata/)
  assert.match(r.stdout.trim().split('\n').at(-1)!, /^docs: [\d.]+ \S+ complete and verified in .*; saved in /)
  assert.equal(await compareTrees(tree.root, join(out, 'docs')), undefined)
})
