import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { test } from 'node:test'
import { jsonLines, runCli } from './support.ts'

const demoFolders = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('torrent-patron-demo-'))

test('demo end to end: three patrons on one service, verified, cleaned up', { timeout: 120_000 }, async () => {
  const before = new Set(await demoFolders())
  const r = await runCli(['demo', '--json'], { timeoutMs: 110_000 })
  assert.equal(r.code, 0, `stderr: ${r.stderr}\nstdout tail: ${r.stdout.slice(-2000)}`)
  assert.equal(r.stderr, '')
  const lines = jsonLines(r.stdout)
  const summary = lines.at(-1)!
  assert.equal(summary['type'], 'Summary')
  assert.equal(summary['result'], 'complete')
  assert.equal(summary['bytes'], 24 * 1024 * 1024)
  const downloads = summary['downloads'] as Array<{ patron: number; identical: boolean; size: number }>
  assert.deepEqual(downloads.map((d) => d.patron), [1, 2, 3])
  assert.ok(downloads.every((d) => d.identical))
  assert.equal(downloads.reduce((a, d) => a + d.size, 0), 24 * 1024 * 1024)
  // three distinct torrents, each created once, each reaching 1
  const created = lines.filter((l) => l['type'] === 'NewTorrentCreated').map((l) => l['torrentid'])
  assert.equal(new Set(created).size, 3)
  for (const id of created) {
    const mine = lines.filter((l) => l['type'] === 'TorrentStatusUpdate' && l['torrentid'] === id)
    assert.equal((mine.at(-1)!['statsdictionary'] as { fractionDone: number }).fractionDone, 1)
  }
  const after = (await demoFolders()).filter((n) => !before.has(n))
  assert.deepEqual(after, [], 'temporary folder removed')
})

test('demo in plain mode prints progress lines and a summary', { timeout: 120_000 }, async () => {
  const r = await runCli(['demo', '--size', '4', '--patrons', '2'], { timeoutMs: 110_000 })
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.match(r.stdout, /^tracker: http:\/\/127\.0\.0\.1:\d+\/announce$/m)
  assert.match(r.stdout, /^patron 1: alpha\.bin: \d+\.\d% /m)
  assert.match(r.stdout, /^patron 2: bravo\.bin: \d+\.\d% /m)
  assert.match(r.stdout, /^demo: 2 patrons on one service downloaded 4\.00 MiB /m)
  assert.match(r.stdout, /every copy matches its source byte for byte\n$/)
})
