import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { runCli } from './support.ts'
import { startOpentracker } from '../support/peers/opentracker.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'

const pct = (b: Uint8Array): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')

test('info --scrape: counts from opentracker over HTTP and UDP, a junk tracker\'s error, exit 0', async (t) => {
  const tracker = await startOpentracker()
  t.after(() => tracker.close())
  const junk = createServer((_req, res) => res.end('<html>'))
  await new Promise<void>((resolve) => junk.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { junk.closeAllConnections(); junk.close(() => resolve()) }))
  const junkUrl = `http://127.0.0.1:${(junk.address() as AddressInfo).port}/announce`
  const tmp = await makeTempDir('info-scrape-')
  t.after(() => tmp.close())
  await writeFile(join(tmp.path, 'f.bin'), randomBytes(50_000))
  const made = await mktorrent(join(tmp.path, 'f.bin'), join(tmp.path, 'f.torrent'), { announce: [tracker.httpAnnounce, tracker.udpAnnounce, junkUrl], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  const hash = parsed.value.infoHashBytes
  await tracker.allow(parsed.value.infoHash)
  const peerId = Buffer.from(`-TP0000-${randomBytes(6).toString('hex')}`)
  await fetch(`${tracker.httpAnnounce}?info_hash=${pct(hash)}&peer_id=${pct(peerId)}&port=40200&uploaded=0&downloaded=0&left=0&compact=1&event=started`)

  const json = await runCli(['info', made.path, '--scrape', '--json'], { timeoutMs: 60_000 })
  assert.equal(json.code, 0, json.stderr)
  const rows = (JSON.parse(json.stdout) as { scrape: Array<Record<string, unknown>> }).scrape
  assert.deepEqual(rows.slice(0, 2).map((r) => [r['url'], r['complete'], r['incomplete']]), [[tracker.httpAnnounce, 1, 0], [tracker.udpAnnounce, 1, 0]])
  assert.match(String(rows[2]!['error']), /not bencode/)

  const text = await runCli(['info', made.path, '--scrape'], { timeoutMs: 60_000 })
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, /scrape: +http:\/\/127\.0\.0\.1:\d+\/announce: 1 seeders, 0 leechers/)
  assert.match(text.stdout, /udp:\/\/127\.0\.0\.1:\d+: 1 seeders, 0 leechers/)
  assert.match(text.stdout, /failed: .*not bencode/)
})
