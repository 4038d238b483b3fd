/**
 * File selection for real: aria2c seeds a three-file torrent whose files do
 * not end on piece boundaries; the engine downloads only the wanted files
 * (nothing of the skipped one in the save folder, its share of the
 * straddling pieces in the parts file), completes on them, takes a skipped
 * file back mid-run, and resumes with the selection after a restart. A
 * non-owner's change is refused by the service.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { closeTorrent, setFilePriority, createNewTorrent, isNewTorrentCreated, isTorrentCommandRefused, type Command, type Feedback } from '../../lib/messages.ts'
import { torrentClient } from '../../lib/engine/index.ts'
import { torrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { collect, PushSource } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { seed, start } from '../stream/fixture.ts'

const PIECE = 65536
// a: 10.5 pieces, b: 6.25 pieces (straddles on both ends), c: 24.3 pieces. A piece already in progress
// when its file is skipped is finished, and a new peer's first requests cover 64 blocks (16 of these
// pieces): c is larger than that, so a skip mid-download always leaves some of it unfetched.
const SIZES = { a: 10 * PIECE + PIECE / 2, b: 6 * PIECE + PIECE / 4, c: 24 * PIECE + 20_000 }

async function album(root: string) {
  const dir = join(root, 'seed', 'album')
  await mkdir(dir, { recursive: true })
  for (const [n, size] of Object.entries(SIZES)) await writeRandomFile(join(dir, `${n}.bin`), size)
  return dir
}

test('only wanted files reach the save folder; straddling pieces are whole; a skipped file taken back; resume keeps the selection', { timeout: 300_000 }, async (t) => {
  const tmp = await makeTempDir('h14-select-')
  t.after(() => tmp.close())
  const dir = await album(tmp.path)
  const { bytes, seeder } = await seed(t, dir, join(tmp.path, 'album.torrent'), 2_000_000)
  const meta = await parseMetainfo(bytes)
  assert.ok(meta.ok)
  const out = join(tmp.path, 'out')
  const run = await start(t, bytes, out, [seeder.peer], ['normal', 'skip', 'high'])
  const done = await run.complete(120_000)
  // complete on the wanted files only
  assert.equal(done.fractionDone, 1)
  assert.ok(done.piecesDone < done.piecesTotal, `${done.piecesDone} of ${done.piecesTotal} pieces: the skipped file's inner pieces are not fetched`)
  assert.deepEqual((await readdir(join(out, 'album'))).sort(), ['a.bin', 'c.bin'])
  for (const n of ['a', 'c']) assert.deepEqual(await readFile(join(out, 'album', `${n}.bin`)), await readFile(join(dir, `${n}.bin`)))
  assert.ok(existsSync(join(out, '.torrent-patron', `${meta.value.infoHash}.parts`)), 'the skipped share of the straddling pieces is kept in the parts file')
  // straddling pieces read back whole through the engine (half from a.bin, half from the parts file)
  const straddle = run.streams.createReadStream(0, { start: SIZES.a - 100 })
  const tail = Buffer.concat(await straddle.toArray())
  assert.deepEqual(tail, (await readFile(join(dir, 'a.bin'))).subarray(SIZES.a - 100))

  // a skipped file later wanted: it arrives, whole
  run.commands.event(setFilePriority(run.id, 1, 'normal'))
  await pollUntil(
    async () => existsSync(join(out, 'album', 'b.bin')) && run.stats()?.piecesDone === run.stats()?.piecesTotal && run.stats()?.activity === 'seeding',
    { timeoutMs: 120_000, what: 'b.bin downloaded', explain: () => JSON.stringify(run.stats()) },
  )
  assert.deepEqual(await readFile(join(out, 'album', 'b.bin')), await readFile(join(dir, 'b.bin')))
  run.close()
})

test('a selection survives a restart (resume record); changing it mid-download takes effect', { timeout: 300_000 }, async (t) => {
  const tmp = await makeTempDir('h14-select2-')
  t.after(() => tmp.close())
  const dir = await album(tmp.path)
  const { bytes, seeder } = await seed(t, dir, join(tmp.path, 'album.torrent'), 120_000)
  const out = join(tmp.path, 'out')
  const first = await start(t, bytes, out, [seeder.peer], ['normal', 'normal', 'normal'])
  // mid-download (about 23 s at this rate): drop c
  await pollUntil(() => (first.stats()?.piecesDone ?? 0) >= 1 || undefined, { timeoutMs: 60_000, what: 'some pieces' })
  first.commands.event(setFilePriority(first.id, 2, 'skip'))
  const done = await first.complete(120_000)
  assert.equal(done.fractionDone, 1)
  assert.ok(done.piecesDone < done.piecesTotal, `c.bin skipped mid-download, yet ${done.piecesDone} of ${done.piecesTotal} pieces fetched`)
  first.close()
  await pollUntil(() => first.stats()?.activity === 'shut down' || undefined, { timeoutMs: 20_000, what: 'closed' })
  assert.deepEqual(await readFile(join(out, 'album', 'a.bin')), await readFile(join(dir, 'a.bin')))
  assert.deepEqual(await readFile(join(out, 'album', 'b.bin')), await readFile(join(dir, 'b.bin')))
  const cBefore = existsSync(join(out, 'album', 'c.bin'))

  // restart with no priorities given: the record's selection holds, nothing more is fetched
  const second = await start(t, bytes, out, [seeder.peer])
  const again = await second.complete(60_000)
  assert.equal(again.fractionDone, 1)
  assert.equal(again.piecesDone, done.piecesDone, 'nothing more fetched: the selection came back from the resume record')
  assert.equal(existsSync(join(out, 'album', 'c.bin')), cBefore, 'the skipped file is neither created nor removed by the restart')
  second.close()
})

test('a non-owner cannot change a priority: TorrentCommandRefused', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('h14-select3-')
  t.after(() => tmp.close())
  const dir = await album(tmp.path)
  const { bytes, seeder } = await seed(t, dir, join(tmp.path, 'album.torrent'), 200_000)
  const service = torrentService(torrentClient({ statusInterval: 200, dht: false }))
  const owner = new PushSource<Command>()
  const stranger = new PushSource<Command>()
  const a = collect<Feedback>(torrentPatron(service, owner))
  const b = collect<Feedback>(torrentPatron(service, stranger))
  t.after(() => (a.dispose(), b.dispose()))
  owner.event(createNewTorrent(bytes, { savefolder: join(tmp.path, 'out'), peers: [seeder.peer] }))
  const id = (await pollUntil(() => a.events.find(isNewTorrentCreated), { timeoutMs: 20_000, what: 'created' })).torrentid
  stranger.event(setFilePriority(id, 0, 'skip'))
  const refused = await pollUntil(() => b.events.find(isTorrentCommandRefused), { timeoutMs: 10_000, what: 'refused' })
  assert.match(refused.reason, /does not own torrent/)
  assert.equal(a.events.some(isTorrentCommandRefused), false)
})

test('a priority for a file the torrent does not have: the engine refuses it, to the owner that asked only (also for a magnet, once its metadata came)', { timeout: 180_000 }, async (t) => {
  const tmp = await makeTempDir('t14-select4-')
  t.after(() => tmp.close())
  const dir = await album(tmp.path)
  const { bytes, seeder } = await seed(t, dir, join(tmp.path, 'album.torrent'), 400_000)
  const meta = await parseMetainfo(bytes)
  assert.ok(meta.ok)
  const service = torrentService(torrentClient({ statusInterval: 200, dht: false }))
  const asker = new PushSource<Command>()
  const other = new PushSource<Command>()
  const a = collect<Feedback>(torrentPatron(service, asker))
  const b = collect<Feedback>(torrentPatron(service, other))
  t.after(() => (a.dispose(), b.dispose()))
  const refusals = (fb: { events: Feedback[] }) => fb.events.filter(isTorrentCommandRefused)

  // a .torrent with two owners
  asker.event(createNewTorrent(bytes, { savefolder: join(tmp.path, 'out'), peers: [seeder.peer] }))
  const id = (await pollUntil(() => a.events.find(isNewTorrentCreated), { timeoutMs: 20_000, what: 'created' })).torrentid
  other.event(createNewTorrent(bytes, { savefolder: join(tmp.path, 'out'), peers: [seeder.peer] }))
  await pollUntil(() => b.events.some((m) => m.type === 'TorrentAlreadyDownloading') || undefined, { timeoutMs: 20_000, what: 'co-owner joined' })
  asker.event(setFilePriority(id, 3, 'high'))
  const refused = await pollUntil(() => refusals(a)[0], { timeoutMs: 20_000, what: 'the engine refuses file 3' })
  assert.equal(refused.reason, `SetFilePriority refused: torrent ${id} has 3 files (numbered 0 to 2); there is no file 3`)
  assert.deepEqual(refused.command, setFilePriority(id, 3, 'high'))
  // a good change after it still works, and the co-owner never heard of the refusal
  asker.event(setFilePriority(id, 2, 'high'))
  asker.event(setFilePriority(id, 4, 'normal'))
  await pollUntil(() => refusals(a).length >= 2 || undefined, { timeoutMs: 20_000, what: 'the second refusal' })
  assert.match(refusals(a)[1]!.reason, /there is no file 4$/)
  assert.equal(refusals(a).length, 2, 'file 2 exists: no refusal for it')
  assert.deepEqual(refusals(b), [])

  // a magnet: the change waits for the metadata, then is refused; the download goes on
  const magnet = `magnet:?xt=urn:btih:${meta.value.infoHash}&x.pe=${seeder.peer}`
  const m = new PushSource<Command>()
  const mf = collect<Feedback>(torrentPatron(service, m))
  t.after(() => mf.dispose())
  // the engine runs commands in order: the close comes before the magnet's creation
  asker.event(closeTorrent(id))
  other.event(closeTorrent(id))
  m.event(createNewTorrent(magnet, { savefolder: join(tmp.path, 'out2') }))
  const mid = (await pollUntil(() => mf.events.find(isNewTorrentCreated), { timeoutMs: 20_000, what: 'magnet created' })).torrentid
  m.event(setFilePriority(mid, 7, 'skip'))
  const late = await pollUntil(() => refusals(mf)[0], { timeoutMs: 60_000, what: 'the refusal once the metadata came' })
  assert.match(late.reason, /has 3 files \(numbered 0 to 2\); there is no file 7$/)
  await pollUntil(
    () => mf.events.some((e) => e.type === 'TorrentStatusUpdate' && e.torrentid === mid && e.statsdictionary.activity === 'seeding') || undefined,
    { timeoutMs: 120_000, what: 'the magnet completes' },
  )
  for (const n of ['a', 'b', 'c']) assert.deepEqual(await readFile(join(tmp.path, 'out2', 'album', `${n}.bin`)), await readFile(join(dir, `${n}.bin`)))
})
