/**
 * Choking: a seeding engine with more interested leechers than
 * upload slots unchokes at most slots + 1 at once and rotates the optimistic
 * unchoke among the others. Engine-to-engine on 127.0.0.1, with the choker's
 * periods shortened (500 ms re-choke, 1 s optimistic) so rotation is seen quickly.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { torrentClient, type ClientOptions, type TorrentHandle } from '../../lib/engine/index.ts'
import { createNewTorrent, isNewTorrentCreated, isTorrentStatusUpdate, type EngineCommand, type EngineFeedback } from '../../lib/messages.ts'
import { collect, PushSource } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree } from '../support/peers/data.ts'
import { makeTorrent } from '../../lib/maker/index.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil, sleep } from '../support/peers/wait.ts'

const SLOTS = 2
const LEECHERS = 5

test('seeding with more interested leechers than slots: at most slots+1 unchoked, the optimistic one rotates', { timeout: 60000 }, async (t) => {
  const tmp = await makeTempDir('eng-choke-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 8 << 20, fileCount: 2 })
  const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:9/announce', pieceLength: 64 << 10 })

  const start = async (options: ClientOptions, folder: string, peers: string[]) => {
    const handles = new Map<string, TorrentHandle>()
    const commands = new PushSource<EngineCommand>()
    const out = collect<EngineFeedback>(torrentClient({ statusInterval: 200, ...options, onTorrent: (id, h) => handles.set(id, h) })(commands))
    t.after(() => out.dispose())
    commands.event(createNewTorrent(bytes, { savefolder: folder, peers }))
    const { torrentid } = await pollUntil(() => out.events.filter(isNewTorrentCreated)[0], { timeoutMs: 10000, what: 'created' })
    const activity = () => out.events.filter(isTorrentStatusUpdate).filter((m) => m.torrentid === torrentid).at(-1)?.statsdictionary.activity
    return { handle: () => handles.get(torrentid)!, activity }
  }

  const port = await freePort()
  // Slow upload keeps every leecher interested for the whole observation.
  const seeder = await start(
    { port, host: '127.0.0.1', uploadSlots: SLOTS, rechokeInterval: 500, optimisticInterval: 1000, uploadRateLimit: 256 << 10 },
    dirname(tree.root),
    []
  )
  await pollUntil(() => seeder.activity() === 'seeding', { timeoutMs: 20000, what: 'seeder checked its data' })
  for (let i = 0; i < LEECHERS; i++) await start({}, join(tmp.path, `leech${i}`), [`127.0.0.1:${port}`])
  await pollUntil(() => seeder.handle().peers().length === LEECHERS, { timeoutMs: 10000, what: `${LEECHERS} leechers connected` })

  let most = 0
  const everUnchoked = new Set<string>()
  for (let i = 0; i < 60; i++) {
    const unchoked = seeder.handle().peers().filter((p) => !p.amChoking)
    most = Math.max(most, unchoked.length)
    for (const p of unchoked) everUnchoked.add(p.address)
    assert.ok(unchoked.length <= SLOTS + 1, `${unchoked.length} peers unchoked at once, slots ${SLOTS} + 1 optimistic`)
    await sleep(100)
  }
  assert.equal(seeder.handle().peers().length, LEECHERS, 'no leecher left or finished during the observation')
  assert.equal(most, SLOTS + 1, 'all slots and the optimistic one were used')
  // Only regular slots would reach SLOTS peers; a rotating optimistic unchoke reaches more.
  assert.ok(everUnchoked.size >= SLOTS + 2, `only ${everUnchoked.size} distinct peers were ever unchoked`)
  t.diagnostic(`max unchoked at once ${most}; ${everUnchoked.size} of ${LEECHERS} leechers unchoked at some point in 6 s`)
})
