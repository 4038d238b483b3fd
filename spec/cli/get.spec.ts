import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { compareTrees, makeRandomTree } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { freePort } from '../support/peers/ports.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { jsonLines, runCli, startCli, startSeedProcess, swarm } from './support.ts'

interface Status {
  type: 'TorrentStatusUpdate'
  torrentid: string
  statsdictionary: { activity: string; fractionDone: number }
}

test('get --json from an aria2c seeder: JSON lines, a final Summary "complete", identical files', { timeout: 90_000 }, async (t) => {
  const { tmp, tree, torrent, seeder } = await swarm(t, { totalBytes: 3 << 20 })
  const out = join(tmp.path, 'out')
  const r = await runCli(['get', torrent.path, '--out', out, '--peer', seeder.peer, '--json'], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, `stderr: ${r.stderr}\nstdout tail: ${r.stdout.slice(-2000)}`)
  assert.equal(r.stderr, '')
  const lines = jsonLines(r.stdout)
  assert.equal(lines[0]!['type'], 'NewTorrentCreated')
  const last = lines.at(-1)!
  assert.equal(last['type'], 'Summary')
  assert.equal(last['result'], 'complete')
  assert.equal(last['size'], tree.totalBytes)
  const updates = lines.filter((l) => l['type'] === 'TorrentStatusUpdate') as unknown as Status[]
  assert.ok(updates.length > 0)
  assert.equal(updates.at(-1)!.statsdictionary.fractionDone, 1)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
})

test('get from a `torrent-patron seed` process (a second engine), plain lines when not a TTY', { timeout: 90_000 }, async (t) => {
  const { tmp, tree, seeder, peer } = await startSeedProcess(t, 'cli-seed-')
  const torrentFile = `${tree.root}.torrent`
  assert.match(seeder.stdout(), new RegExp(`wrote ${torrentFile.replace(/[.]/g, '\\.')}`))

  const out = join(tmp.path, 'out')
  const r = await runCli(['get', torrentFile, '--out', out, '--peer', peer], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no terminal control codes in plain mode')
  assert.match(r.stdout, /^docs: \d+\.\d% /m)
  // Once complete, a line shows no download rate left over from the last seconds.
  for (const line of r.stdout.split('\n').filter((l) => l.startsWith('docs: 100.0% '))) assert.match(line, /, down 0 B\/s, /, line)
  assert.match(r.stdout.trim().split('\n').at(-1)!, /^docs: 2\.00 MiB complete and verified in .*; saved in /)
  assert.equal(await compareTrees(tree.root, join(out, 'docs')), undefined)

  // The seeder saw us, then stops cleanly on Ctrl-C.
  seeder.child.kill('SIGINT')
  const end = await seeder.exited
  assert.equal(end.code, 0, end.stderr)
  assert.match(end.stdout, /docs: stopped seeding\n$/)
})

test('Ctrl-C stops get cleanly (exit 130) and a second run resumes from the verified data', { timeout: 120_000 }, async (t) => {
  // A slow seeder (1 MiB/s for 6 MiB) leaves time to interrupt mid-way.
  const { tmp, tree, torrent, seeder } = await swarm(t, { totalBytes: 6 << 20, maxUploadBytesPerSec: 1 << 20 })
  const out = join(tmp.path, 'out')
  const first = startCli(['get', torrent.path, '--out', out, '--peer', seeder.peer, '--json'])
  t.after(() => first.kill())
  await first.waitForLine((l) => {
    const m = JSON.parse(l) as Partial<Status>
    return m.type === 'TorrentStatusUpdate' && m.statsdictionary!.activity === 'downloading' && m.statsdictionary!.fractionDone > 0.1
  }, 60_000)
  first.child.kill('SIGINT')
  const stopped = await first.exited
  assert.equal(stopped.code, 130, stopped.stderr)
  const summary = jsonLines(stopped.stdout).at(-1)!
  assert.equal(summary['type'], 'Summary')
  assert.equal(summary['result'], 'interrupted')
  const reached = Math.max(
    ...(jsonLines(stopped.stdout).filter((l) => l['type'] === 'TorrentStatusUpdate') as unknown as Status[]).map((u) =>
      u.statsdictionary.activity === 'checking' ? 0 : u.statsdictionary.fractionDone
    )
  )
  assert.ok(reached > 0.1 && reached < 1, `interrupted mid-way (at ${reached})`)

  const second = await runCli(['get', torrent.path, '--out', out, '--peer', seeder.peer, '--json'], { timeoutMs: 90_000 })
  assert.equal(second.code, 0, second.stderr)
  const updates = jsonLines(second.stdout).filter((l) => l['type'] === 'TorrentStatusUpdate') as unknown as Status[]
  const afterCheck = updates.find((u) => u.statsdictionary.activity !== 'checking' && u.statsdictionary.activity !== 'starting')!
  assert.ok(afterCheck.statsdictionary.fractionDone >= reached * 0.9, `resumed at ${afterCheck.statsdictionary.fractionDone}, had ${reached}`)
  const done = jsonLines(second.stdout).at(-1)!
  assert.equal(done['result'], 'complete')
  // The summary tells what the first run left and what this one fetched.
  assert.ok((done['atStart'] as number) >= reached * 0.9 * tree.totalBytes - (2 << 16), `verified at the start: ${String(done['atStart'])}`)
  assert.ok((done['fetched'] as number) < tree.totalBytes * (1 - reached * 0.8), `fetched ${String(done['fetched'])} of ${tree.totalBytes}`)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
})

test('seed an existing .torrent from --out (JSON lines), get it with --peer', { timeout: 90_000 }, async (t) => {
  const tmp = await makeTempDir('cli-seed-torrent-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'data', 'set'), { totalBytes: 1 << 20, fileCount: 2 })
  const torrentFile = join(tmp.path, 'set.torrent')
  const made = await runCli(['make', tree.root, '-a', 'http://127.0.0.1:9/announce', '-o', torrentFile])
  assert.equal(made.code, 0, made.stderr)
  const port = await freePort()
  const seeder = startCli(['seed', torrentFile, '--out', join(tmp.path, 'data'), '--port', String(port), '--json'])
  t.after(() => seeder.kill())
  await seeder.waitForLine((l) => l.includes('"activity":"seeding"'), 30_000)

  const out = join(tmp.path, 'out')
  const r = await runCli(['get', torrentFile, '--out', out, '--peer', `127.0.0.1:${port}`, '--json'], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, r.stderr)
  assert.equal(jsonLines(r.stdout).at(-1)!['result'], 'complete')
  assert.equal(await compareTrees(tree.root, join(out, 'set')), undefined)

  // The seeder's own updates show the upload (they come every half second).
  await seeder.waitForLine((l) => {
    const m = JSON.parse(l) as { type: string; statsdictionary?: { upTotal: number } }
    return m.type === 'TorrentStatusUpdate' && m.statsdictionary!.upTotal >= tree.totalBytes
  }, 10_000)
  seeder.child.kill('SIGINT')
  const end = await seeder.exited
  assert.equal(end.code, 0, end.stderr)
  const lines = jsonLines(end.stdout)
  assert.deepEqual(lines.at(-1), { type: 'Summary', result: 'stopped', name: 'set', torrentid: lines[0]!['torrentid'] })
})

test('get of two torrents at once: a patron each, one Summary each, both complete', { timeout: 90_000 }, async (t) => {
  const tmp = await makeTempDir('cli-get-two-')
  t.after(() => tmp.close())
  const names = ['left', 'right']
  const peers: string[] = []
  const torrents: string[] = []
  for (const name of names) {
    const tree = await makeRandomTree(join(tmp.path, 'data', name), { totalBytes: 700_000 + names.indexOf(name), fileCount: 2 })
    const file = join(tmp.path, `${name}.torrent`)
    assert.equal((await runCli(['make', tree.root, '-a', 'http://127.0.0.1:9/announce', '-o', file])).code, 0)
    const port = await freePort()
    const seeder = startCli(['seed', file, '--out', join(tmp.path, 'data'), '--port', String(port), '--json'])
    t.after(() => seeder.kill())
    await seeder.waitForLine((l) => l.includes('"activity":"seeding"'), 30_000)
    peers.push('--peer', `127.0.0.1:${port}`)
    torrents.push(file)
  }
  const out = join(tmp.path, 'out')
  const r = await runCli(['get', ...torrents, '--out', out, ...peers, '--json'], { timeoutMs: 60_000 })
  assert.equal(r.code, 0, r.stderr)
  const summaries = jsonLines(r.stdout).filter((l) => l['type'] === 'Summary')
  assert.deepEqual(summaries.map((s) => [s['name'], s['result']]), [
    ['left', 'complete'],
    ['right', 'complete']
  ])
  for (const name of names) assert.equal(await compareTrees(join(tmp.path, 'data', name), join(out, name)), undefined)
})
