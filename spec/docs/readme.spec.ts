/**
 * The README's ten-line example is real code: examples/readme-snippet.ts holds
 * it verbatim (checked here), and it is run against a local tracker and seeder:
 * it must download the torrent, end by itself, and leave identical data.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { now } from '@most/core'
import { torrentClient } from '../../lib/engine/index.ts'
import { torrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import { makeSeedCommand } from '../../lib/maker/index.ts'
import { isTorrentStatusUpdate, type Feedback } from '../../lib/messages.ts'
import { collect } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { spawnLogged } from '../support/peers/process.ts'
import { pollUntil } from '../support/peers/wait.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const snippet = join(root, 'examples', 'readme-snippet.ts')

test('README example is examples/readme-snippet.ts verbatim', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const block = /## Ten lines\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  assert.ok(block !== undefined, 'README has a "Ten lines" ts block')
  assert.equal(await readFile(snippet, 'utf8'), block)
  assert.ok(block.trim().split('\n').length <= 12)
})

test('README example downloads a torrent from a local swarm and ends', { timeout: 60_000 }, async (t) => {
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  const dir = await makeTempDir('readme')
  t.after(() => dir.close())
  await makeRandomTree(join(dir.path, 'seed', 'photos'), { totalBytes: 2 * 1024 * 1024 + 777, fileCount: 2 })
  const { torrent, command } = await makeSeedCommand(join(dir.path, 'seed', 'photos'), { announce: tracker.httpAnnounce, pieceLength: 32768 })
  const seeder = collect<Feedback>(torrentPatron(torrentService(torrentClient({ host: '127.0.0.1', statusInterval: 100 })))(now(command)))
  t.after(() => seeder.dispose())
  await pollUntil(() => seeder.events.filter(isTorrentStatusUpdate).find((m) => m.statsdictionary.activity === 'seeding'), {
    timeoutMs: 20_000,
    what: 'seeder seeding'
  })
  await writeFile(join(dir.path, 'photos.torrent'), torrent)

  // The example runs from the download's folder (it saves to ./downloads), so
  // tsx is named by its resolved URL rather than looked up from there.
  // `--conditions=source`: 'torrent-patron' resolves to lib/index.ts (this
  // checkout's code), not to a dist/ that may be stale or not built.
  const child = spawnLogged(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), snippet, join(dir.path, 'photos.torrent')], {
    logPath: join(dir.path, 'snippet.log'),
    cwd: dir.path
  })
  t.after(() => child.close())
  const exit = await Promise.race([
    child.exited,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 45_000))
  ])
  assert.ok(exit !== undefined, `the example ended by itself; log:\n${child.logTail(20)}`)
  assert.equal(exit.code, 0, child.logTail(20))
  const log = await child.readLog()
  assert.match(log, /seeding 1\b/, 'it printed the final status')
  assert.equal(await compareTrees(join(dir.path, 'seed', 'photos'), join(dir.path, 'downloads', 'photos')), undefined)
})
