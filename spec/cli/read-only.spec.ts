/**
 * Read-only file systems, through the CLI as a user meets them: complete
 * data on a read-only mount seeds (seeding only reads) and a real aria2c
 * downloads it from there; incomplete data there fails with the reason; an
 * --out that would have to be created on a read-only file system names
 * that cause, not "no such file or directory".
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cp, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { jsonLines, oneLineError, runCli, startCli } from './support.ts'
import { readOnlyView, mountPoint, mountTmpfs, remountReadOnly } from '../support/mounts.ts'
import { compareTrees, makeRandomTree } from '../support/peers/data.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startAria2Leecher } from '../support/peers/aria2.ts'
import { freePort } from '../support/peers/ports.ts'

/** Random data under `<dir>/data/payload` and its .torrent (announcing to `announce`). */
const dataSet = async (dir: string, announce: string) => {
  const tree = await makeRandomTree(join(dir, 'data', 'payload'), { totalBytes: 4 << 20, fileCount: 3 })
  const torrentPath = join(dir, 'payload.torrent')
  await writeFile(torrentPath, await makeTorrent(tree.root, { announce }))
  return { tree, torrentPath }
}

test('seed: complete data on a read-only bind mount is seeded, and aria2c downloads all of it from there', { timeout: 90_000 }, async (t) => {
  const dir = await mountPoint(t, 'tp-ro-seed-')
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  const { tree, torrentPath } = await dataSet(dir, tracker.httpAnnounce)
  const ro = await readOnlyView(t, join(dir, 'data'))
  await assert.rejects(writeFile(join(ro, 'probe'), 'x'), (e: NodeJS.ErrnoException) => e.code === 'EROFS')

  const port = await freePort()
  const seeder = startCli(['seed', torrentPath, '--out', ro, '--port', String(port), '--json'])
  t.after(() => seeder.kill())
  await seeder.waitForLine((l) => l.includes('"activity":"seeding"'), 30_000)

  const out = join(dir, 'leech')
  const leecher = await startAria2Leecher({ torrentPath, dir: out })
  t.after(() => leecher.close())
  await leecher.waitDone(60_000)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  assert.deepEqual((await readdir(ro)).sort(), ['payload'], 'nothing was written beside the data')
  seeder.child.kill('SIGINT')
  const end = await seeder.exited
  assert.equal(end.code, 0, end.stderr)
  assert.ok(!jsonLines(end.stdout).some((l) => String((l['statsdictionary'] as { activity?: string } | undefined)?.activity).startsWith('error')))
})

test('seed: incomplete data on a read-only mount fails with one line that says read-only and how much is there', { timeout: 60_000 }, async (t) => {
  const dir = await mountPoint(t, 'tp-ro-part-')
  const { tree, torrentPath } = await dataSet(dir, 'http://127.0.0.1:9/announce')
  await rm(join(tree.root, tree.files.at(-1)!.path))
  const ro = await readOnlyView(t, join(dir, 'data'))
  const r = await runCli(['seed', torrentPath, '--out', ro], { timeoutMs: 45_000 })
  assert.equal(r.code, 1, r.stderr)
  const line = oneLineError(r)
  assert.match(line, /cannot be written \(read-only file system, EROFS\)/)
  assert.match(line, /holds \d+ of \d+ pieces/)
  assert.doesNotMatch(line, /no such file/i)
})

test('an --out that must be created on a read-only file system: the error names the read-only file system (get and seed)', { timeout: 60_000 }, async (t) => {
  const dir = await mountPoint(t, 'tp-ro-out-')
  const { torrentPath } = await dataSet(dir, 'http://127.0.0.1:9/announce')
  const ro = await mountTmpfs(t, '64k')
  await remountReadOnly(ro)
  for (const command of ['get', 'seed']) {
    const target = join(ro, 'new', 'deeper')
    const r = await runCli([command, torrentPath, '--out', target], { timeoutMs: 45_000 })
    assert.equal(r.code, 1, `${command}: ${r.stderr}`)
    const line = oneLineError(r)
    assert.match(line, /read-only file system/, command)
    assert.doesNotMatch(line, /no such file/i, command)
    assert.ok(line.includes(ro), `${command}: the message names the folder: ${line}`)
  }
})

test('get: a read-only folder that exists is refused at once, naming the cause', { timeout: 30_000 }, async (t) => {
  const dir = await mountPoint(t, 'tp-ro-get-')
  const { torrentPath } = await dataSet(dir, 'http://127.0.0.1:9/announce')
  const target = join(dir, 'target')
  await cp(join(dir, 'data'), target, { recursive: true })
  const ro = await readOnlyView(t, target)
  const r = await runCli(['get', torrentPath, '--out', ro], { timeoutMs: 25_000 })
  assert.equal(r.code, 1, r.stderr)
  assert.match(oneLineError(r), /read-only file system/)
})
