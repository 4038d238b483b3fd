/**
 * Engine creation replies: bad metainfo, duplicate infohash, a file already
 * owned by another running torrent, relative save folders, reply order, and
 * a clean exit on disposal.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join, relative } from 'node:path'
import { stat } from 'node:fs/promises'
import { torrentClient } from '../../lib/engine/index.ts'
import {
  closeTorrent,
  createNewTorrent,
  isCreationReply,
  isNewTorrentCreated,
  isTorrentAlreadyDownloading,
  isTorrentStartFail,
  isTorrentStatusUpdate,
  type EngineCommand,
  type EngineFeedback
} from '../../lib/messages.ts'
import { collect, PushSource } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { pollUntil } from '../support/peers/wait.ts'

const startEngine = (options: Parameters<typeof torrentClient>[0] = {}) => {
  const commands = new PushSource<EngineCommand>()
  const out = collect<EngineFeedback>(torrentClient({ hasherWorkers: 0, ...options })(commands))
  const replies = (): EngineFeedback[] => out.events.filter(isCreationReply)
  const waitReplies = (n: number) =>
    pollUntil(() => (replies().length >= n ? replies() : undefined), { timeoutMs: 10000, what: `${n} replies` })
  return { commands, out, replies, waitReplies }
}

test('creation replies: bad metainfo, duplicate, file clash, relative folder, order', { timeout: 30000 }, async (t) => {
  const tmp = await makeTempDir('eng-start-')
  t.after(() => tmp.close())
  const treeA = await makeRandomTree(join(tmp.path, 'a', 'payload'), { sizes: [40000, 70000] })
  const treeB = await makeRandomTree(join(tmp.path, 'b', 'payload'), { sizes: [40000, 1000] })
  const a = await mktorrent(treeA.root, join(tmp.path, 'a.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const b = await mktorrent(treeB.root, join(tmp.path, 'b.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })

  const e = startEngine({ statusInterval: 200 })
  t.after(() => e.out.dispose())
  const dl = join(tmp.path, 'dl', 'nested')
  const relativeDl = relative(process.cwd(), dl)

  e.commands.event(createNewTorrent(new TextEncoder().encode('d4:infoi1ee'), { savefolder: dl }))
  e.commands.event(createNewTorrent(a.bytes, { savefolder: relativeDl }))
  e.commands.event(createNewTorrent(a.bytes, { savefolder: dl }))
  // b names payload/<same first file name?>: both trees are called "payload"; b's first file
  // has the same relative path as a's first file, so in the same folder they clash.
  e.commands.event(createNewTorrent(b.bytes, { savefolder: dl }))
  e.commands.event(createNewTorrent('magnet:?xt=urn:btih:' + 'a'.repeat(39)))
  const r = await e.waitReplies(5)

  assert.ok(isTorrentStartFail(r[0]), JSON.stringify(r[0]))
  assert.match((r[0] as { reason: string }).reason, /metainfo/)
  assert.ok(isNewTorrentCreated(r[1]), JSON.stringify(r[1]))
  const created = r[1] as { torrentid: string; savefolder: string; infohash?: string }
  assert.equal(created.savefolder, dl, 'relative save folder resolved to absolute')
  assert.ok((await stat(dl)).isDirectory(), 'save folder created')
  assert.ok(isTorrentAlreadyDownloading(r[2]), JSON.stringify(r[2]))
  assert.equal((r[2] as { torrentid: string }).torrentid, created.torrentid)
  assert.ok(isTorrentStartFail(r[3]), JSON.stringify(r[3]))
  assert.match((r[3] as { reason: string }).reason, /belongs to another running torrent/)
  assert.ok(isTorrentStartFail(r[4]), 'a bad magnet is refused with a reason')
  assert.match((r[4] as { reason: string }).reason, /bad magnet link: .*info hash/)

  // Status updates of the running torrent arrive.
  await pollUntil(
    () => e.out.events.some((m) => isTorrentStatusUpdate(m) && m.torrentid === created.torrentid),
    { timeoutMs: 5000, what: 'a status update' }
  )

  // After closing a, b may use the folder.
  e.commands.event(closeTorrent(created.torrentid))
  e.commands.event(createNewTorrent(b.bytes, { savefolder: dl }))
  const r2 = await e.waitReplies(6)
  assert.ok(isNewTorrentCreated(r2[5]), JSON.stringify(r2[5]))
})

test('an unusable save folder answers TorrentStartFail', { timeout: 20000 }, async (t) => {
  const tmp = await makeTempDir('eng-start2-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'payload'), { sizes: [1000] })
  const a = await mktorrent(tree.root, join(tmp.path, 'a.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const e = startEngine()
  t.after(() => e.out.dispose())
  // A folder below a regular file cannot be created.
  e.commands.event(createNewTorrent(a.bytes, { savefolder: join(tmp.path, 'a.torrent', 'sub') }))
  const [r] = await e.waitReplies(1)
  assert.ok(isTorrentStartFail(r), JSON.stringify(r))
  assert.match((r as { reason: string }).reason, /save folder/)
})

test('onStopped fires once, after disposal has closed the torrents and written their resume records', { timeout: 30000 }, async (t) => {
  const tmp = await makeTempDir('eng-stopped-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { sizes: [90000] })
  const a = await mktorrent(tree.root, join(tmp.path, 'a.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  let stops = 0
  let recordAtStop: boolean | null = null
  const folder = join(tmp.path, 'seed')
  const stopped = new Promise<void>((resolve) => {
    const e = startEngine({
      statusInterval: 100,
      onStopped: () => {
        stops++
        // The record of the seeded torrent must already be on disk when the hook runs.
        void stat(join(folder, '.torrent-patron'))
          .then((s) => s.isDirectory(), () => false)
          .then((ok) => {
            recordAtStop = ok
            resolve()
          })
      }
    })
    e.commands.event(createNewTorrent(a.bytes, { savefolder: folder }))
    void pollUntil(
      () => e.out.events.some((m) => isTorrentStatusUpdate(m) && m.statsdictionary.activity === 'seeding') || undefined,
      { timeoutMs: 15000, what: 'seeding' }
    ).then(() => {
      assert.equal(stops, 0, 'not stopped while running')
      e.out.dispose()
      e.out.dispose()
    })
  })
  await stopped
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(stops, 1)
  assert.equal(recordAtStop, true)
})
