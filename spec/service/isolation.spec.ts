/**
 * Patron isolation, with the real engine on loopback: a patron can
 * neither close nor observe another patron's torrents, whether it guesses ids
 * or learnt the real ones out of band. Every such close is refused with
 * TorrentCommandRefused, nothing reaches the engine, and the torrent keeps
 * running for its owner. The refusal says the same for a real foreign id as
 * for an id that never existed, so it is no oracle for guessing either.
 *
 * The capability to join a torrent is its metainfo: a patron that has the
 * .torrent bytes is told TorrentAlreadyDownloading and becomes a co-owner
 * (docs/design.md, rule 2). That is by design and tested here as such.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { torrentClient } from '../../lib/engine/index.ts'
import { torrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import {
  closeTorrent,
  createNewTorrent,
  isNewTorrentCreated,
  isTorrentAlreadyDownloading,
  isTorrentCommandRefused,
  isTorrentStatusUpdate,
  type Command,
  type EngineCommand,
  type Feedback,
  type TorrentId
} from '../../lib/messages.ts'
import { collect, PushSource, type Collected } from '../support/most.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { spyEngine, startSwarm } from '../support/loopback-swarm.ts'
import { resources, settleTo } from '../support/resources.ts'

interface P { readonly cmds: PushSource<Command>; readonly out: Collected<Feedback> }

test('a patron can neither close nor observe another patron\'s torrents, by guess or by stolen id', { timeout: 60_000 }, async (t) => {
  const tmp = await makeTempDir('isolation-')
  t.after(() => tmp.close())
  const swarm = await startSwarm({ dir: join(tmp.path, 'seed'), sizes: [256 << 10, 512 << 10, 384 << 10] })
  t.after(() => swarm.close())
  const base = resources()

  const atEngine: EngineCommand[] = []
  const engineIds = new Set<TorrentId>()
  const service = torrentService(spyEngine(
    torrentClient({ host: '127.0.0.1', statusInterval: 100, peers: [swarm.peer] }),
    {
      command: (c) => { atEngine.push(c) },
      before: (fb) => { if (isNewTorrentCreated(fb)) engineIds.add(fb.torrentid) }
    }
  ))
  const patrons: P[] = []
  const join_ = (): P => {
    const cmds = new PushSource<Command>()
    const p = { cmds, out: collect<Feedback>(torrentPatron(service, cmds)) }
    patrons.push(p)
    return p
  }
  t.after(() => { for (const p of patrons) p.out.dispose() })
  const dl = join(tmp.path, 'dl')

  // A owns torrent 0, C owns torrent 1; B owns nothing yet, then torrent 2.
  const a = join_(); const b = join_(); const c = join_()
  a.cmds.event(createNewTorrent(swarm.torrents[0]!.bytes, { savefolder: dl }))
  c.cmds.event(createNewTorrent(swarm.torrents[1]!.bytes, { savefolder: dl }))
  const idA = (await pollUntil(() => a.out.events.find(isNewTorrentCreated), { timeoutMs: 10_000, what: 'A created' })).torrentid
  const idC = (await pollUntil(() => c.out.events.find(isNewTorrentCreated), { timeoutMs: 10_000, what: 'C created' })).torrentid
  // Ids are random (96 bits), not small sequence numbers.
  for (const id of [idA, idC]) assert.match(id, /^[0-9a-f]{24}$/)
  assert.notEqual(idA, idC)

  const seeding = (p: P, id: TorrentId): Promise<unknown> => pollUntil(
    () => p.out.events.some((m) => isTorrentStatusUpdate(m) && m.torrentid === id && m.statsdictionary.activity === 'seeding'),
    { timeoutMs: 20_000, what: `${id} complete` })
  await Promise.all([seeding(a, idA), seeding(c, idC)])

  // B guesses: random ids in the engine's format, small integers, near misses of a real id, junk.
  const flip = (id: string): string => id.slice(0, -1) + (id.endsWith('0') ? '1' : '0')
  const guesses = [
    ...Array.from({ length: 20 }, () => randomBytes(12).toString('hex')),
    '0', '1', '2', '3', 'T1', '', flip(idA), idA.toUpperCase(), ` ${idA}`, `${idA}\u0000`
  ]
  // ...and ids it learnt out of band (a log, another process): A's and C's real ids.
  const stolen = [idA, idC, idA]
  const commandsBefore = atEngine.length
  for (const id of [...guesses, ...stolen]) b.cmds.event(closeTorrent(id))
  // A tries C's id as well.
  a.cmds.event(closeTorrent(idC))

  const refusals = b.out.events.filter(isTorrentCommandRefused)
  assert.equal(refusals.length, guesses.length + stolen.length, 'every foreign or guessed close is refused, at once')
  // No oracle: the reason for a real foreign id reads exactly like one for an id that never existed.
  const template = refusals[0]!.reason.split(guesses[0]!)
  assert.equal(template.length, 2)
  refusals.forEach((r, i) => {
    const id = [...guesses, ...stolen][i]!
    assert.deepEqual(r.command, closeTorrent(id), 'the refusal names the refused command')
    assert.equal(r.reason, template.join(id))
  })
  assert.equal(a.out.events.filter(isTorrentCommandRefused).length, 1)
  assert.equal(atEngine.length, commandsBefore, `nothing reached the engine: ${JSON.stringify(atEngine.slice(commandsBefore))}`)

  // The torrents keep running: their owners keep getting updates after the attempts.
  const updatesOf = (p: P, id: TorrentId): number => p.out.events.filter((m) => isTorrentStatusUpdate(m) && m.torrentid === id).length
  const nA = updatesOf(a, idA); const nC = updatesOf(c, idC)
  await pollUntil(() => updatesOf(a, idA) >= nA + 3 && updatesOf(c, idC) >= nC + 3, { timeoutMs: 10_000, what: 'updates go on' })
  const lastA = a.out.events.filter(isTorrentStatusUpdate).at(-1)!
  assert.equal(lastA.statsdictionary.activity, 'seeding')

  // B has its own torrent now; it sees its updates and never A's or C's.
  b.cmds.event(createNewTorrent(swarm.torrents[2]!.bytes, { savefolder: dl }))
  const idB = (await pollUntil(() => b.out.events.find(isNewTorrentCreated), { timeoutMs: 10_000, what: 'B created' })).torrentid
  await seeding(b, idB)
  const onlyOwn = (p: P, own: TorrentId[]): void => {
    const foreign = p.out.events.filter((m) => (isTorrentStatusUpdate(m) || isNewTorrentCreated(m) || isTorrentAlreadyDownloading(m)) && !own.includes(m.torrentid))
    assert.deepEqual(foreign, [], 'messages about torrents the patron does not own')
  }
  onlyOwn(a, [idA]); onlyOwn(b, [idB]); onlyOwn(c, [idC])
  for (const p of patrons) assert.equal(p.out.late, 0)

  // Joining by metainfo is the designed way to share: B, holding torrent 0's bytes, co-owns it...
  b.cmds.event(createNewTorrent(swarm.torrents[0]!.bytes, { savefolder: dl }))
  const joined = await pollUntil(() => b.out.events.find(isTorrentAlreadyDownloading), { timeoutMs: 10_000, what: 'B joined' })
  assert.equal(joined.torrentid, idA)
  // ...and its close only drops its own share: A's torrent still runs.
  const beforeClose = atEngine.length
  b.cmds.event(closeTorrent(idA))
  assert.equal(b.out.events.filter(isTorrentCommandRefused).length, refusals.length, 'a co-owner may close its share')
  assert.equal(atEngine.length, beforeClose, 'A still owns it: the close does not reach the engine')
  const nA2 = updatesOf(a, idA)
  await pollUntil(() => updatesOf(a, idA) >= nA2 + 2, { timeoutMs: 10_000, what: 'A keeps its torrent' })
  // A second close by B, no longer an owner, is refused again.
  b.cmds.event(closeTorrent(idA))
  assert.equal(b.out.events.filter(isTorrentCommandRefused).length, refusals.length + 1)
  assert.equal(atEngine.length, beforeClose)
  assert.deepEqual([...engineIds].sort(), [idA, idB, idC].sort(), 'no torrent was started by the attempts')

  // Everyone leaves: engine disposed, nothing left open.
  for (const p of patrons) p.out.dispose()
  assert.equal(service.inspect().state, 'idle')
  assert.deepEqual(await settleTo(base, 5000), [])
})
