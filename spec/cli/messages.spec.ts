/**
 * What the CLI tells its user, checked as a user sees it (a child process,
 * piped output): resume and complete-data sentences, the no-peer hint, the
 * quiet piped lines, `--timeout`, Ctrl-C with nothing to resume, `seed`
 * keeping or refusing an existing .torrent, exit codes of bad values, and
 * nothing created on disk before every check passed. The 15 s hint and the
 * 10 s quiet interval are shortened through their environment variables.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { compareTrees, makeRandomTree } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { oneLineError, runCli, startCli, swarm } from './support.ts'

const exists = (p: string) => access(p).then(() => true, () => false)

test('bad values exit 2, other failures 1, with no internal prefix; nothing is created before the checks pass', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('cli-msg-bad-')
  t.after(() => tmp.close())
  const data = join(tmp.path, 'data.bin')
  await writeFile(data, Buffer.alloc(200_000, 3))
  const good = join(tmp.path, 'good.torrent')
  assert.equal((await runCli(['make', data, '-a', 'http://127.0.0.1:9/announce', '-o', good])).code, 0)
  await mkdir(join(tmp.path, 'empty'))
  const blocker = createServer()
  await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', () => r()))
  t.after(() => new Promise<void>((r) => blocker.close(() => r())))
  const taken = String((blocker.address() as { port: number }).port)
  const out = join(tmp.path, 'never-made')

  const cases: Array<{ args: string[]; code: number; message: RegExp }> = [
    { args: ['make', data, '-a', 'http://x/a', '-l', '100', '-o', join(out, 'x.torrent')], code: 2, message: /--piece-length wants a power of two .* not "100"/ },
    { args: ['make', data, '-a', 'http://x/a', '-l', '65535', '-o', join(out, 'x.torrent')], code: 2, message: /--piece-length/ },
    { args: ['make', data, '-a', 'http://x/a', '-l', 'big'], code: 2, message: /--piece-length/ },
    { args: ['make', join(tmp.path, 'empty'), '-a', 'http://x/a', '-o', join(tmp.path, 'e.torrent')], code: 1, message: /cannot make a torrent of .*empty: nothing to share in / },
    { args: ['get', good, '--out', out, '--port', taken], code: 1, message: new RegExp(`port ${taken} is not available`) },
    { args: ['get', good, '--out', out, '--port', '70000'], code: 2, message: /--port wants a number/ },
    { args: ['get', good, '--out', out, '--timeout', 'soon'], code: 2, message: /--timeout wants a number of seconds above 0, not "soon"/ },
    { args: ['get', good, '--out', out, '--timeout', '0'], code: 2, message: /--timeout/ },
    { args: ['get', good, '--out', out, '--peer', 'nohostport'], code: 2, message: /--peer wants HOST:PORT/ },
    { args: ['get', join(tmp.path, 'missing.torrent'), '--out', out], code: 1, message: /cannot read / },
    { args: ['seed', data, '-a', 'http://x/a', '--port', taken], code: 1, message: new RegExp(`port ${taken} is not available`) }
  ]
  for (const c of cases) {
    const r = await runCli(c.args, { cwd: tmp.path })
    const line = oneLineError(r)
    assert.equal(r.code, c.code, `${c.args.join(' ')}: ${line}`)
    assert.match(line, c.message, c.args.join(' '))
    assert.doesNotMatch(line, /makeTorrent:|parseMetainfo:|Error:/, `no internal prefix: ${line}`)
    assert.equal(await exists(out), false, `${c.args.join(' ')} created ${out}`)
  }
  assert.equal(await exists(`${data}.torrent`), false, 'seed with a taken port wrote no .torrent')
  assert.equal(await exists(join(tmp.path, 'e.torrent')), false)

  // mktorrent's habit: -l 18 is 2^18 bytes.
  const made = await runCli(['make', data, '-a', 'http://x/a', '-l', '18', '-o', join(tmp.path, 'l18.torrent')])
  assert.equal(made.code, 0, made.stderr)
  const info = await runCli(['info', join(tmp.path, 'l18.torrent'), '--json'])
  assert.equal((JSON.parse(info.stdout) as { pieceLength: number }).pieceLength, 1 << 18)
})

test('no peer: a hint names the sources after the delay, piped lines stay quiet, --timeout gives up; Ctrl-C with no data says so', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('cli-msg-nopeer-')
  t.after(() => tmp.close())
  const data = join(tmp.path, 'lonely.bin')
  await writeFile(data, Buffer.alloc(300_000, 9))
  const torrent = join(tmp.path, 'lonely.torrent')
  assert.equal((await runCli(['make', data, '-a', 'http://127.0.0.1:9/announce', '-o', torrent])).code, 0)

  const r = await runCli(['get', torrent, '--out', join(tmp.path, 'out'), '--no-dht', '--timeout', '5'], {
    env: { TORRENT_PATRON_NO_PEER_HINT_MS: '1000', TORRENT_PATRON_QUIET_LINE_MS: '600000' },
    timeoutMs: 60_000
  })
  assert.equal(r.code, 1, r.stdout + r.stderr)
  assert.match(oneLineError(r), /^torrent-patron: lonely\.bin: not complete after 5\.0s \(--timeout\) at 0\.0%$/)
  const hints = r.stdout.split('\n').filter((l) => l.includes('no peer after'))
  assert.equal(hints.length, 1, r.stdout)
  assert.match(hints[0]!, /^lonely\.bin: no peer after 1\.0s: its tracker reports no peer \(or cannot be reached\); the DHT is off \(--no-dht\); no --peer given$/)
  // With the quiet interval long, an unchanging torrent gets one line per activity, not one a second.
  const status = r.stdout.split('\n').filter((l) => l.startsWith('lonely.bin: ') && l.includes('% '))
  const activities = status.map((l) => /% (\S+)/.exec(l)![1])
  assert.equal(new Set(activities).size, activities.length, `one line per activity in 5 s:\n${status.join('\n')}`)

  // A magnet that never gets its metadata: Ctrl-C promises no resume.
  const magnet = `magnet:?xt=urn:btih:${'ab'.repeat(20)}&dn=ghost`
  const p = startCli(['get', magnet, '--out', join(tmp.path, 'ghost'), '--no-dht'])
  t.after(() => p.kill())
  await p.waitForLine((l) => l.includes('fetching metadata'), 30_000)
  p.child.kill('SIGINT')
  const end = await p.exited
  assert.equal(end.code, 130, end.stderr)
  assert.match(end.stdout, /^ghost: interrupted before any data was verified; nothing to resume$/m)
  assert.doesNotMatch(end.stdout, /run the same command to resume/)
})

test('rerun on complete data says so; a resumed download says what was there and rates only what it fetched', { timeout: 120_000 }, async (t) => {
  const { tmp, tree, torrent, seeder } = await swarm(t, { totalBytes: 2 << 20 })
  const out = join(tmp.path, 'out')
  const first = await runCli(['get', torrent.path, '--out', out, '--peer', seeder.peer], { timeoutMs: 60_000 })
  assert.equal(first.code, 0, first.stderr)
  assert.match(first.stdout.trim().split('\n').at(-1)!, /^payload: 2\.00 MiB complete and verified in \S+, [\d.]+ \S+\/s; saved in /)

  const again = await runCli(['get', torrent.path, '--out', out, '--peer', seeder.peer], { timeoutMs: 60_000 })
  assert.equal(again.code, 0, again.stderr)
  assert.match(again.stdout.trim().split('\n').at(-1)!, /^payload: 2\.00 MiB already complete and verified \(checked in \S+\); saved in /)

  // Remove the largest file: the rest is verified at the start, only that file is fetched.
  const biggest = [...tree.files].sort((a, b) => b.size - a.size)[0]!
  await rm(join(out, 'payload', biggest.path))
  const resumed = await runCli(['get', torrent.path, '--out', out, '--peer', seeder.peer, '--json'], { timeoutMs: 60_000 })
  assert.equal(resumed.code, 0, resumed.stderr)
  const summary = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!) as { result: string; atStart: number; fetched: number; size: number }
  assert.equal(summary.result, 'complete')
  assert.ok(summary.atStart > 0 && summary.atStart <= tree.totalBytes - biggest.size, `verified at the start: ${summary.atStart}`)
  assert.ok(summary.fetched >= biggest.size && summary.fetched < tree.totalBytes, `fetched ${summary.fetched} of ${tree.totalBytes}`)
  await rm(join(out, 'payload', biggest.path))
  const plain = await runCli(['get', torrent.path, '--out', out, '--peer', seeder.peer], { timeoutMs: 60_000 })
  assert.equal(plain.code, 0, plain.stderr)
  assert.match(
    plain.stdout.trim().split('\n').at(-1)!,
    /^payload: 2\.00 MiB complete and verified in \S+: \S+ \S+ already verified at the start, \S+ \S+ fetched, [\d.]+ \S+\/s; saved in /
  )
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
})

test('seed <path> keeps a matching .torrent, refuses one for other data, replaces it with --force', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('cli-msg-seed-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'album'), { totalBytes: 700_000, fileCount: 3 })
  // Made by mktorrent, with a piece length of its own: still "the same data".
  const theirs = await mktorrent(tree.root, `${tree.root}.torrent`, { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const before = await readFile(theirs.path)

  const keep = startCli(['seed', tree.root, '--no-dht'])
  t.after(() => keep.kill())
  await keep.waitForLine((l) => l.includes('matches the data: seeding it as it is'), 30_000)
  await keep.waitForLine((l) => l.includes('seeding album'), 30_000)
  await keep.kill()
  assert.deepEqual(await readFile(theirs.path), before, 'kept as it was')

  await writeFile(join(tree.root, 'extra.txt'), 'a new file changes the data')
  const refused = await runCli(['seed', tree.root, '-a', 'http://127.0.0.1:9/announce', '--no-dht'])
  assert.equal(refused.code, 1)
  assert.match(oneLineError(refused), /album\.torrent is there and describes other data \(info hash [0-9a-f]{40}\); --force replaces it$/)
  assert.deepEqual(await readFile(theirs.path), before, 'not overwritten')

  const forced = startCli(['seed', tree.root, '-a', 'http://127.0.0.1:9/announce', '--force', '--no-dht'])
  t.after(() => forced.kill())
  await forced.waitForLine((l) => l.startsWith('wrote ') && l.endsWith('album.torrent'), 30_000)
  await forced.waitForLine((l) => l.includes('seeding album'), 30_000)
  await forced.kill()
  assert.notDeepEqual(await readFile(theirs.path), before, 'replaced with --force')
})
