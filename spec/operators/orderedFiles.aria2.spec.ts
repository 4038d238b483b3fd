/**
 * The file operators over the real engine, service and patron: aria2c seeds
 * two albums (torrents of several files whose files do not end on piece
 * boundaries), the slow one created first with one file skipped. Each file
 * comes out of `completedFiles` as soon as it is verified (before its
 * torrent is complete), and out of `orderedFiles` in creation order: the
 * first album's wanted files in file order, then the second's, though the
 * second completes first. Every file is byte-identical on disk when it comes
 * out; the skipped one is never there.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { multicast, tap } from '@most/core'
import { createNewTorrent, isNewTorrentCreated, isTorrentStatusUpdate, type Command, type Feedback } from '../../lib/messages.ts'
import { torrentClient } from '../../lib/engine/index.ts'
import { torrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { orderedFiles } from '../../operators/orderedFiles.ts'
import { completedFiles, type CompletedFile } from '../../operators/completedFiles.ts'
import { collect, PushSource } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { seed } from '../stream/fixture.ts'

const PIECE = 65536

async function album(root: string, name: string, sizes: readonly number[]): Promise<string> {
  const dir = join(root, `seed-${name}`, name)
  await mkdir(dir, { recursive: true })
  for (const [i, size] of sizes.entries()) await writeRandomFile(join(dir, `track-${i}.bin`), size)
  return dir
}

test('completedFiles as files verify, orderedFiles in creation order, through the service, from aria2c seeders', { timeout: 240_000 }, async (t) => {
  const tmp = await makeTempDir('s14-files-')
  t.after(() => tmp.close())
  const slowDir = await album(tmp.path, 'slow', [5 * PIECE + PIECE / 2, 3 * PIECE + PIECE / 4, 8 * PIECE, 6 * PIECE + 1000])
  const fastDir = await album(tmp.path, 'fast', [2 * PIECE + 7, PIECE + PIECE / 2])
  const slow = await seed(t, slowDir, join(tmp.path, 'slow.torrent'), 150_000)
  const fast = await seed(t, fastDir, join(tmp.path, 'fast.torrent'), 2_000_000)
  const out = join(tmp.path, 'out')

  const service = torrentService(torrentClient({ dht: false }))
  const commands = new PushSource<Command>()
  const feedback = multicast(torrentPatron(service, commands))
  const all = collect<Feedback>(feedback)
  const source = new Map<string, string>() // torrent id -> the seeder's copy of the album
  const paths = new Map<string, string[]>() // torrent id -> file paths inside the save folder
  const checks: Promise<void>[] = []
  /** Where in the feedback each file came out, and whether its bytes were all there at that moment. */
  const seen = (into: Array<CompletedFile & { at: number; fractionDone: number }>) => (f: CompletedFile) => {
    const last = all.events.filter(isTorrentStatusUpdate).filter((m) => m.torrentid === f.torrentid).at(-1)
    into.push({ ...f, at: all.events.length, fractionDone: last?.statsdictionary.fractionDone ?? -1 })
    const rel = paths.get(f.torrentid)![f.file]!
    checks.push(
      Promise.all([readFile(join(f.savefolder, rel)), readFile(join(source.get(f.torrentid)!, rel.split('/').slice(1).join('/')))]).then(([got, want]) =>
        assert.ok(got.equals(want), `${f.torrentid}/${f.file} is whole when it comes out`),
      ),
    )
  }
  const ordered: Array<CompletedFile & { at: number; fractionDone: number }> = []
  const completed: Array<CompletedFile & { at: number; fractionDone: number }> = []
  const o = collect(tap(seen(ordered), orderedFiles(feedback)))
  const c = collect(tap(seen(completed), completedFiles(feedback)))
  t.after(() => (o.dispose(), c.dispose(), all.dispose()))

  const create = async (bytes: Uint8Array, dir: string, peer: string, priorities?: Array<'normal' | 'skip' | 'high'>) => {
    const meta = await parseMetainfo(bytes)
    assert.ok(meta.ok)
    const before = all.events.filter(isNewTorrentCreated).length
    commands.event(createNewTorrent(bytes, { savefolder: out, peers: [peer], ...(priorities ? { priorities } : {}) }))
    const id = (await pollUntil(() => all.events.filter(isNewTorrentCreated)[before], { timeoutMs: 20_000, what: 'created' })).torrentid
    source.set(id, dir)
    paths.set(id, meta.value.files.filter((f) => !f.pad).map((f) => f.path.join('/')))
    return id
  }
  // the slow album first, its track 2 skipped and track 3 first in line
  const a = await create(slow.bytes, slowDir, slow.seeder.peer, ['normal', 'normal', 'skip', 'high'])
  const b = await create(fast.bytes, fastDir, fast.seeder.peer)
  await pollUntil(() => ordered.length === 5 || undefined, { timeoutMs: 180_000, what: 'five files in order', explain: () => JSON.stringify({ ordered, completed }) })
  await Promise.all(checks)

  const name = (f: CompletedFile) => `${f.torrentid === a ? 'slow' : 'fast'}/${f.file}`
  assert.deepEqual(ordered.map(name), ['slow/0', 'slow/1', 'slow/3', 'fast/0', 'fast/1'])
  assert.deepEqual(ordered.map((f) => f.torrent), [0, 0, 0, 1, 1])
  assert.deepEqual(completed.map(name).sort(), ['fast/0', 'fast/1', 'slow/0', 'slow/1', 'slow/3'])
  // a file is reported as it verifies, not with its torrent's completion
  assert.ok(completed.some((f) => f.torrentid === a && f.fractionDone < 1), `some file of the slow album came out before it was complete: ${JSON.stringify(completed)}`)
  // the fast album completed while the slow one was still downloading: its files waited
  const slowDone = all.events.findIndex((m) => isTorrentStatusUpdate(m) && m.torrentid === a && m.statsdictionary.activity === 'seeding')
  assert.ok(completed.filter((f) => f.torrentid === b).every((f) => f.at < slowDone), 'the fast album completes first')
  for (const f of ordered) {
    const first = completed.find((g) => g.torrentid === f.torrentid && g.file === f.file)!
    assert.ok(first.at <= f.at, `${name(f)} comes out in order no earlier than it completes`)
    if (f.torrentid === b) assert.ok(f.at >= slowDone, `${name(f)} waits for the slow album`)
  }
  assert.equal(existsSync(join(out, 'slow', 'track-2.bin')), false, 'the skipped track is not in the save folder')
  assert.equal(o.error, undefined)
  assert.equal(c.error, undefined)
})
