/**
 * "Make a torrent and start seeding it in one step": seedPath feeds a
 * patron, the engine checks the data where it lies and seeds it, and a second
 * engine downloads it from that seeder alone.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { torrentClient } from '../../lib/engine/index.ts'
import { torrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import { createNewTorrent, isNewTorrentCreated, isTorrentStatusUpdate, type Feedback } from '../../lib/messages.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { seedPath } from '../../operators/seedPath.ts'
import { now } from '@most/core'
import { collect } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'

const lastStatus = (events: readonly Feedback[]) => events.filter(isTorrentStatusUpdate).at(-1)?.statsdictionary

test('seedPath: make, check in place, seed; another engine downloads it from that seeder alone', { timeout: 60_000 }, async (t) => {
  const dir = await makeTempDir('seed-command')
  t.after(() => dir.close())
  const data = join(dir.path, 'album')
  await makeRandomTree(data, { totalBytes: 3 * 1024 * 1024 + 12345, fileCount: 3 })

  let torrent: Uint8Array | undefined
  const port = await freePort('tcp')
  const seeder = collect<Feedback>(
    torrentPatron(torrentService(torrentClient({ port, host: '127.0.0.1', statusInterval: 100 })))(
      seedPath(data, { announce: 'http://127.0.0.1:9/announce', pieceLength: 32768 }, (bytes) => { torrent = bytes })
    )
  )
  t.after(() => seeder.dispose())

  const created = await pollUntil(() => seeder.events.find(isNewTorrentCreated), { timeoutMs: 20_000, what: 'seeder created' })
  assert.equal(created.savefolder, dir.path, 'seeded where the data lies')
  assert.ok(torrent !== undefined, 'the .torrent bytes were handed out')
  const parsed = await parseMetainfo(torrent)
  assert.ok(parsed.ok)
  assert.equal(created.infohash, parsed.value.infoHash)
  const seeding = await pollUntil(() => (lastStatus(seeder.events)?.activity === 'seeding' ? lastStatus(seeder.events) : undefined), {
    timeoutMs: 20_000,
    what: 'seeding',
    explain: () => JSON.stringify(lastStatus(seeder.events))
  })
  assert.equal(seeding.fractionDone, 1)
  assert.equal(seeding.downTotal, 0, 'nothing downloaded: the data was found in place')

  const out = await makeTempDir('seed-command-out')
  t.after(() => out.close())
  const leecher = collect<Feedback>(
    torrentPatron(torrentService(torrentClient({ statusInterval: 100 })))(
      now(createNewTorrent(torrent, { savefolder: out.path, peers: [`127.0.0.1:${port}`] }))
    )
  )
  t.after(() => leecher.dispose())
  await pollUntil(() => (lastStatus(leecher.events)?.fractionDone === 1 ? true : undefined), {
    timeoutMs: 30_000,
    what: 'leecher complete',
    explain: () => JSON.stringify(lastStatus(leecher.events))
  })
  assert.equal(await compareTrees(data, join(out.path, 'album')), undefined)
  await pollUntil(() => ((lastStatus(seeder.events)?.upTotal ?? 0) >= parsed.value.length ? true : undefined), {
    timeoutMs: 10_000,
    what: 'seeder upTotal covers the torrent'
  })
})

test('seedPath: a missing path is an error on the stream, and no command is sent', { timeout: 10_000 }, async () => {
  const got = collect(seedPath('/nonexistent/definitely/not/here', { announce: 'http://127.0.0.1:9/announce' }))
  await pollUntil(() => (got.error !== undefined ? true : undefined), { timeoutMs: 5_000, what: 'error' })
  assert.equal(got.events.length, 0)
})
