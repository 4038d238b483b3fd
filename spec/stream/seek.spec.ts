/**
 * A seek against a real seeder that is slow: aria2c limited to 400 KB/s, the
 * engine downloading in its normal order with a full queue of requests at
 * the seeder, then a read stream opening far from anything asked. The seek's
 * piece must come in ahead of the blocks queued before it: among the first
 * pieces verified after the seek, not behind the second of data the
 * pipeline had queued.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { collect } from '../support/most.ts'
import { seed, start } from './fixture.ts'

const PIECE = 16384 // one block a piece: the seeder's queue order is the order pieces verify in
const SIZE = 8 << 20 // 512 pieces
const RATE = 400_000 // about 24 blocks a second
/** Pieces in half a second at RATE: far fewer than a second's queue of other blocks, more than what is on the wire. */
const HALF_SECOND = Math.floor((RATE / PIECE) * 0.5)

test('a seek at a slow seeder: its piece is verified before the blocks the pipeline had queued ahead of it', { timeout: 240_000 }, async (t) => {
  const tmp = await makeTempDir('sk-seek-')
  const file = join(tmp.path, 'seed', 'video.webm')
  await writeRandomFile(file, SIZE)
  const source = new Uint8Array(await readFile(file))
  const { bytes, seeder } = await seed(t, file, join(tmp.path, 'video.torrent'), RATE, PIECE)
  const run = await start(t, bytes, join(tmp.path, 'out'), [seeder.peer])
  t.after(() => tmp.close()) // after the engine's and the seeder's own clean-up
  const ranges = collect(run.streams.readable())
  t.after(() => ranges.dispose())
  const verified = (from = 0): number[] => ranges.events.slice(from).flatMap((r) => {
    const out: number[] = []
    for (let p = Math.floor(r.start / PIECE); p * PIECE < r.end; p++) out.push(p)
    return out
  })

  // no reader: the pipeline fills the seeder's queue in its normal order, well past a second of data
  await pollUntil(() => (verified().length >= 48 ? true : undefined), { timeoutMs: 120_000, what: '48 pieces', explain: () => `${verified().length}` })
  // the piece farthest from every verified one: not among those asked in the normal order
  const have = new Set(verified())
  let target = -1
  let farthest = -1
  for (let p = 0; p < SIZE / PIECE; p++) {
    if (have.has(p)) continue
    let d = Infinity
    for (const h of have) d = Math.min(d, Math.abs(h - p))
    if (d > farthest) [farthest, target] = [d, p]
  }
  assert.ok(farthest > 64, `a piece far from the download (${target}, ${farthest} from the nearest verified)`)

  const mark = ranges.events.length
  const reader = run.streams.createReadStream(0, { start: target * PIECE })
  reader.on('error', () => {})
  const chunk = await new Promise<Buffer>((resolve) => reader.once('data', resolve))
  const after = verified(mark)
  const at = after.indexOf(target)
  assert.ok(at >= 0, 'the seek’s piece is verified')
  assert.ok(at < HALF_SECOND, `the seek's piece came ${at + 1}th of the pieces verified after it (${after.slice(0, at + 1)}), not behind the queue`)
  assert.deepEqual(new Uint8Array(chunk.subarray(0, 16)), source.subarray(target * PIECE, target * PIECE + 16))
  reader.destroy()
  // nothing is left of the reader
  await pollUntil(() => (run.streams.readers() === 0 ? true : undefined), { timeoutMs: 10_000, what: 'reader gone' })
  run.close()
  await pollUntil(() => (run.streams.isStopped() ? true : undefined), { timeoutMs: 10_000, what: 'torrent closed' })
})
