/**
 * Resume with nothing lost: the engine runs in a child process,
 * downloads from a throttled aria2c seeder, is SIGKILLed past 30 %, and is
 * restarted on the same folder. It must finish byte-identical without
 * downloading again the pieces it had verified before the kill.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { makeTorrent } from '../../../lib/maker/index.ts'
import { parseMetainfo } from '../../../lib/engine/metainfo/index.ts'
import { makeTempDir } from '../../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../../support/peers/data.ts'
import { startTracker } from '../../support/peers/tracker-server.ts'
import { startAria2Seeder } from '../../support/peers/aria2.ts'
import { startEngineProcess } from '../../support/engine-process.ts'

const SIZE = 32 << 20
const PIECE = 256 << 10
/** aria2c's upload cap: slow enough to kill the engine mid-way, fast enough for a short test. */
const RATE = 5 << 20

test('SIGKILL mid-download, restart on the same folder: completes byte-identical, verified pieces not fetched again', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('resume-kill-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 5 })
  const tracker = await startTracker({ intervalMs: 2000 })
  t.after(() => tracker.close())
  const bytes = await makeTorrent(tree.root, { announce: tracker.httpAnnounce, pieceLength: PIECE })
  const torrentPath = join(tmp.path, 'payload.torrent')
  await writeFile(torrentPath, bytes)
  const meta = await parseMetainfo(bytes)
  assert.ok(meta.ok)
  const { infoHash, pieceCount } = meta.value

  const seeder = await startAria2Seeder({ torrentPath, dir: dirname(tree.root), maxUploadBytesPerSec: RATE, logLevel: 'warn' })
  t.after(() => seeder.close())
  const out = join(tmp.path, 'out')

  const first = await startEngineProcess({ torrentPath, savefolder: out, peers: [seeder.peer] })
  t.after(() => first.close())
  const atKill = await first.waitStatus((s) => s.fractionDone > 0.3 && s.activity === 'downloading', 40_000, 'first run past 30 %')
  assert.ok(atKill.fractionDone < 0.9, `the throttle should leave most of the work: ${atKill.fractionDone}`)
  const exit = await first.kill()
  assert.equal(exit.signal, 'SIGKILL')
  // The status line is up to one interval old; pieces verified after it only make the bound looser, never wrong.
  const doneAtKill = atKill.piecesDone
  const resumeFile = join(out, '.torrent-patron', `${infoHash}.resume.json`)
  const hadResumeRecord = existsSync(resumeFile)
  // The engine records verified pieces as they complete (the first write goes out at once).
  assert.ok(hadResumeRecord, `no resume record at ${resumeFile} at the kill`)

  const second = await startEngineProcess({ torrentPath, savefolder: out, peers: [seeder.peer] })
  t.after(() => second.close())
  const statuses = await (async () => {
    await second.waitStatus((s) => s.activity === 'seeding', 45_000, 'restarted engine to complete')
    return await second.statuses()
  })()
  const last = statuses.at(-1)!
  assert.equal(last.piecesDone, pieceCount)
  assert.equal(last.fractionDone, 1)
  assert.equal(last.discarded, 0, 'no hash failures after the restart')
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)

  // What the restart started from: the first status after checking/starting.
  const resumedAt = statuses.find((s) => s.activity !== 'checking' && s.activity !== 'starting')!
  assert.ok(
    resumedAt.piecesDone >= doneAtKill,
    `restart found ${resumedAt.piecesDone} pieces, ${doneAtKill} were verified at the kill`
  )
  // Nothing verified before the kill is downloaded again: the second run fetches at most
  // what was missing, plus slack for endgame duplicates of a few pieces.
  const missingAtKill = SIZE - doneAtKill * PIECE
  const slack = 4 * PIECE
  assert.ok(
    last.downTotal <= missingAtKill + slack,
    `second run downloaded ${last.downTotal} bytes; only ${missingAtKill} (+${slack} slack) were missing at the kill`
  )
  t.diagnostic(
    `kill at ${(atKill.fractionDone * 100).toFixed(1)} % (${doneAtKill}/${pieceCount} pieces); ` +
      `restart resumed with ${resumedAt.piecesDone} pieces, downloaded ${last.downTotal} of ${SIZE} bytes; ` +
      `resume record ${hadResumeRecord ? 'present' : 'absent'} at the kill; ` +
      `restart activities: ${[...new Set(statuses.map((s) => s.activity))].join(' -> ')}`
  )
})
