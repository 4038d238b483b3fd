/**
 * Rate limits: engine to engine on 127.0.0.1, an 8 MiB torrent moved
 * under a 2 MiB/s limit, client-wide or per torrent, download or upload side.
 * Rate-limit correctness, not speed: the average (bytes the engine counted
 * over the time it took) must lie within ±20 % of the limit. Unlimited, the
 * same transfer takes a small fraction of a second, so a limit that does not
 * work fails by far.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { torrentClient, type ClientOptions } from '../../lib/engine/index.ts'
import {
  createNewTorrent,
  isNewTorrentCreated,
  isTorrentStatusUpdate,
  type EngineCommand,
  type EngineFeedback,
  type TorrentStats
} from '../../lib/messages.ts'
import { collect, PushSource } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { makeTorrent } from '../../lib/maker/index.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'

const SIZE = 8 << 20
const LIMIT = 2 << 20

const cases: { name: string; seeder: ClientOptions; leecher: ClientOptions; side: 'down' | 'up' }[] = [
  { name: 'client-wide download limit', seeder: {}, leecher: { downloadRateLimit: LIMIT }, side: 'down' },
  { name: 'per-torrent download limit', seeder: {}, leecher: { torrentDownloadRateLimit: LIMIT }, side: 'down' },
  { name: 'client-wide upload limit', seeder: { uploadRateLimit: LIMIT }, leecher: {}, side: 'up' },
  { name: 'per-torrent upload limit', seeder: { torrentUploadRateLimit: LIMIT }, leecher: {}, side: 'up' }
]

for (const c of cases) {
  test(`${c.name}: 8 MiB at 2 MiB/s averages within ±20 % of the limit`, { timeout: 40000 }, async (t) => {
    const tmp = await makeTempDir('eng-rate-')
    t.after(() => tmp.close())
    const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: SIZE, fileCount: 2 })
    const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:9/announce', pieceLength: 64 << 10 })

    const start = async (options: ClientOptions, folder: string, peers: string[]) => {
      const commands = new PushSource<EngineCommand>()
      const out = collect<EngineFeedback>(torrentClient({ statusInterval: 50, ...options })(commands))
      t.after(() => out.dispose())
      commands.event(createNewTorrent(bytes, { savefolder: folder, peers }))
      const { torrentid } = await pollUntil(() => out.events.filter(isNewTorrentCreated)[0], { timeoutMs: 10000, what: 'created' })
      const latest = (): TorrentStats | undefined =>
        out.events.filter(isTorrentStatusUpdate).filter((m) => m.torrentid === torrentid).at(-1)?.statsdictionary
      return { latest }
    }
    const seeding = (e: { latest(): TorrentStats | undefined }, timeoutMs: number) =>
      pollUntil(
        () => {
          const s = e.latest()
          if (s?.activity.startsWith('error')) throw new Error(s.activity)
          return s?.activity === 'seeding' ? s : undefined
        },
        { timeoutMs, intervalMs: 10, what: 'seeding', explain: () => JSON.stringify(e.latest()) }
      )

    const port = await freePort()
    const seeder = await start({ port, host: '127.0.0.1', ...c.seeder }, dirname(tree.root), [])
    await seeding(seeder, 20000)
    const leecher = await start(c.leecher, join(tmp.path, 'out'), [`127.0.0.1:${port}`])
    // From the first counted byte to completion, both as the engine reports them.
    await pollUntil(() => ((leecher.latest()?.downTotal ?? 0) > 0 ? true : undefined), { timeoutMs: 10000, intervalMs: 5, what: 'first bytes' })
    const t0 = performance.now()
    const first = leecher.latest()!.downTotal
    const done = await seeding(leecher, 30000)
    const seconds = (performance.now() - t0) / 1000
    const moved = c.side === 'down' ? done.downTotal - first : (seeder.latest()!.upTotal - first)
    const rate = moved / seconds
    t.diagnostic(`${c.name}: ${moved} bytes in ${seconds.toFixed(2)} s = ${(rate / 2 ** 20).toFixed(2)} MiB/s (limit 2)`)
    assert.ok(Math.abs(rate - LIMIT) <= 0.2 * LIMIT, `average ${(rate / 2 ** 20).toFixed(2)} MiB/s, limit 2 MiB/s ±20 %`)
    assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  })
}
