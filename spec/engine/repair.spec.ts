/**
 * Repair: a completed download is damaged on disk (one file
 * truncated, bytes flipped in another); restarted on that folder with the
 * seeder still up, the engine finds exactly the damaged pieces missing,
 * downloads only those again and ends bit-identical.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { open, truncate, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { startEngineProcess } from '../support/engine-process.ts'

const PIECE = 256 << 10
/** Uneven sizes, so file boundaries fall inside pieces. */
const SIZES = [5_000_000, 3_500_000, 4_200_000, 4_000_000]
const SIZE = SIZES.reduce((a, b) => a + b, 0)

/** Pieces that overlap byte range [from, to) of the torrent. */
const piecesOf = (from: number, to: number): number[] => {
  const out: number[] = []
  for (let p = Math.floor(from / PIECE); p * PIECE < to; p++) out.push(p)
  return out
}

test('truncated and corrupted files of a completed download: restart detects them, re-downloads only the damaged pieces, ends bit-identical', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('repair-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { sizes: SIZES })
  const tracker = await startTracker({ intervalMs: 2000 })
  t.after(() => tracker.close())
  const bytes = await makeTorrent(tree.root, { announce: tracker.httpAnnounce, pieceLength: PIECE })
  const torrentPath = join(tmp.path, 'payload.torrent')
  await writeFile(torrentPath, bytes)
  const meta = await parseMetainfo(bytes)
  assert.ok(meta.ok)
  const { pieceCount, files } = meta.value
  const seeder = await startAria2Seeder({ torrentPath, dir: dirname(tree.root), logLevel: 'warn' })
  t.after(() => seeder.close())
  const out = join(tmp.path, 'out')

  // 1. A completed download, closed cleanly (SIGTERM: close torrent, then exit).
  const first = await startEngineProcess({ torrentPath, savefolder: out, peers: [seeder.peer] })
  t.after(() => first.close())
  await first.waitStatus((s) => s.activity === 'seeding', 40_000, 'first download to complete')
  await first.close()
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)

  // 2. Damage: truncate one file to 40 %, flip bytes in the middle of another.
  const [truncated, flipped] = [files[0]!, files[2]!]
  const keep = Math.floor(truncated.length * 0.4)
  await truncate(join(out, ...truncated.path), keep)
  const flipAt = Math.floor(flipped.length / 2)
  const fh = await open(join(out, ...flipped.path), 'r+')
  try {
    const buf = Buffer.alloc(64)
    await fh.read(buf, 0, buf.length, flipAt)
    for (let i = 0; i < buf.length; i++) buf[i] = buf[i]! ^ 0xff
    await fh.write(buf, 0, buf.length, flipAt)
  } finally {
    await fh.close()
  }
  const damaged = new Set([
    ...piecesOf(truncated.offset + keep, truncated.offset + truncated.length),
    ...piecesOf(flipped.offset + flipAt, flipped.offset + flipAt + 64)
  ])
  const damagedBytes = [...damaged].reduce((a, p) => a + Math.min(PIECE, SIZE - p * PIECE), 0)
  assert.notEqual(await compareTrees(tree.root, join(out, 'payload')), undefined)

  // 3. Restart on the damaged folder with the seeder still up.
  const second = await startEngineProcess({ torrentPath, savefolder: out, peers: [seeder.peer] })
  t.after(() => second.close())
  await second.waitStatus((s) => s.activity === 'seeding', 40_000, 'repair to complete')
  const statuses = await second.statuses()
  const afterCheck = statuses.find((s) => s.activity !== 'checking' && s.activity !== 'starting')!
  assert.ok(afterCheck.fractionDone < 1, `damage detected: fractionDone ${afterCheck.fractionDone} after checking`)
  assert.equal(afterCheck.piecesDone, pieceCount - damaged.size, `exactly the ${damaged.size} damaged pieces are missing`)

  const last = statuses.at(-1)!
  assert.equal(last.piecesDone, pieceCount)
  assert.equal(last.discarded, 0)
  // Only the damaged pieces come again (slack: endgame duplicates of a couple of pieces), never the whole.
  assert.ok(last.downTotal >= damagedBytes, `downloaded ${last.downTotal}, damaged ${damagedBytes}`)
  assert.ok(last.downTotal <= damagedBytes + 2 * PIECE, `downloaded ${last.downTotal}, only ${damagedBytes} were damaged (torrent ${SIZE})`)
  assert.equal(await compareTrees(tree.root, join(out, 'payload')), undefined)
  t.diagnostic(
    `damaged ${damaged.size}/${pieceCount} pieces (${damagedBytes} bytes); re-downloaded ${last.downTotal} bytes; ` +
      `restart activities: ${[...new Set(statuses.map((s) => s.activity))].join(' -> ')}`
  )
})
