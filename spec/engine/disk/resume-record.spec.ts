/**
 * Resume records in the engine: a start on data with a valid record
 * hashes nothing it can trust (files whose size and mtime match), and a file
 * touched since re-checks exactly the pieces overlapping it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, stat, utimes } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { torrentClient, type TorrentHandle } from '../../../lib/engine/index.ts'
import {
  createNewTorrent,
  isNewTorrentCreated,
  isTorrentStatusUpdate,
  type EngineCommand,
  type EngineFeedback,
  type TorrentStats
} from '../../../lib/messages.ts'
import { makeTorrent } from '../../../lib/maker/index.ts'
import { parseMetainfo } from '../../../lib/engine/metainfo/index.ts'
import { collect, PushSource } from '../../support/most.ts'
import { makeTempDir } from '../../support/peers/tmp.ts'
import { makeRandomTree } from '../../support/peers/data.ts'
import { pollUntil } from '../../support/peers/wait.ts'

const PIECE = 64 << 10

/** One engine, one torrent on `folder`; resolves once it is seeding. */
async function seedOnce(bytes: Uint8Array, folder: string) {
  const handles = new Map<string, TorrentHandle>()
  const commands = new PushSource<EngineCommand>()
  const out = collect<EngineFeedback>(torrentClient({ statusInterval: 100, onTorrent: (id, h) => handles.set(id, h) })(commands))
  try {
    commands.event(createNewTorrent(bytes, { savefolder: folder }))
    const created = await pollUntil(() => out.events.filter(isNewTorrentCreated)[0], { timeoutMs: 10000, what: 'NewTorrentCreated' })
    const id = created.torrentid
    const latest = (): TorrentStats | undefined =>
      out.events.filter(isTorrentStatusUpdate).filter((m) => m.torrentid === id).at(-1)?.statsdictionary
    const seeding = await pollUntil(
      () => {
        const s = latest()
        if (s?.activity.startsWith('error')) throw new Error(s.activity)
        return s?.activity === 'seeding' ? s : undefined
      },
      { timeoutMs: 20000, what: 'seeding', explain: () => JSON.stringify(latest()) }
    )
    return { seeding, restored: handles.get(id)!.restoredFrom() }
  } finally {
    out.dispose()
  }
}

test('resume record: unchanged files are trusted without hashing, a touched file is re-checked', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('resume-record-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'payload'), { sizes: [900_000, 1_500_000, 700_000] })
  const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:9/announce', pieceLength: PIECE })
  const parsed = await parseMetainfo(bytes)
  assert.ok(parsed.ok)
  const meta = parsed.value
  const folder = dirname(tree.root)
  const record = join(folder, '.torrent-patron', `${meta.infoHash}.resume.json`)

  // 1. No record yet: a full check, then the record is written.
  const first = await seedOnce(bytes, folder)
  assert.deepEqual(first.restored, { source: 'check', checked: meta.pieceCount })
  assert.equal(first.seeding.piecesDone, meta.pieceCount)
  await pollUntil(() => existsSync(record), { timeoutMs: 5000, what: 'resume record written' })
  const saved = JSON.parse(await readFile(record, 'utf8')) as { infoHash: string; files: unknown[] }
  assert.equal(saved.infoHash, meta.infoHash)

  // 2. Nothing changed: every piece trusted from the record, none hashed.
  const second = await seedOnce(bytes, folder)
  assert.deepEqual(second.restored, { source: 'resume', checked: 0 })
  assert.equal(second.seeding.piecesDone, meta.pieceCount)

  // 3. The middle file touched (same bytes, new mtime): exactly its pieces are hashed again, and found good.
  const middle = meta.files.findIndex((f) => !f.pad && f.path.at(-1) === tree.files[1]!.path.split('/').at(-1))
  assert.ok(middle >= 0)
  const f = meta.files[middle]!
  const file = join(folder, ...f.path)
  const before = await stat(file)
  await utimes(file, before.atime, new Date(before.mtimeMs + 5000))
  const expected = Math.floor((f.offset + f.length - 1) / PIECE) - Math.floor(f.offset / PIECE) + 1
  const third = await seedOnce(bytes, folder)
  assert.deepEqual(third.restored, { source: 'resume', checked: expected })
  assert.equal(third.seeding.piecesDone, meta.pieceCount)

  // 4. The re-check was recorded: the next start trusts everything again.
  await pollUntil(
    async () => {
      const r = JSON.parse(await readFile(record, 'utf8')) as { files: ({ mtimeMs: number } | null)[] }
      return r.files[middle]?.mtimeMs === (await stat(file)).mtimeMs
    },
    { timeoutMs: 5000, what: 'record updated with the new mtime' }
  )
  const fourth = await seedOnce(bytes, folder)
  assert.deepEqual(fourth.restored, { source: 'resume', checked: 0 })
})
