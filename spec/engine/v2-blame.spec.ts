/**
 * The v2 block-level blame with real peers on 127.0.0.1: an engine leecher of a
 * v2-only torrent fed by an honest engine seeder and a lying fake peer
 * (bittorrent-protocol) that corrupts a block of a piece it shares with the
 * seeder. The leaf hashes (base layer 0) come from the engine seeder (libtorrent
 * refuses leaf requests; the liar rejects every hash request), so the liar is
 * banned on the first failed piece and the seeder never struck. Plain TCP.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { runEngine } from '../support/engine.ts'
import { v2Remote, type V2Remote } from '../support/v2-remote.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'

const PIECE = 64 * 1024
const PLAIN = { utp: false, outgoingEncryption: 'disabled' } as const

test('v2 smart ban with real peers: a liar sharing a piece with an honest engine seeder is banned on the first failed piece, the seeder never', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempDir('h20b-blame-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { sizes: [1_200_000, 400_001] })
  const full = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:1/announce', pieceLength: PIECE, version: 'v2' })
  const parsed = await parseMetainfo(full, { acceptV2Only: true })
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  const meta = parsed.value
  // The torrent's byte space (pads as zeros), for the liar to serve from.
  const data = new Uint8Array(meta.length)
  for (const f of meta.files) if (!f.pad) data.set(await readFile(join(tmp.path, 'seed', ...f.path)), f.offset)

  const port = await freePort()
  const seeder = runEngine(t, { ...PLAIN, port })
  await seeder.waitSeeding(await seeder.create(full, join(tmp.path, 'seed')), 60_000)

  const liars: V2Remote[] = []
  const sockets: Socket[] = []
  const server = createServer((socket) => {
    sockets.push(socket)
    socket.on('error', () => {})
    liars.push(v2Remote(socket, meta, data, { liar: true, hashes: false }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { for (const s of sockets) s.destroy(); server.close() })
  const liar = `127.0.0.1:${(server.address() as { port: number }).port}`
  const honest = `127.0.0.1:${port}`

  const leecher = runEngine(t, { ...PLAIN, banStrikes: 1 })
  const id = await leecher.create(full, join(tmp.path, 'out'), [liar, honest])
  const done = await leecher.waitSeeding(id, 90_000)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  assert.equal(liars.length, 1)
  assert.notEqual(liars[0]!.corrupted, null, 'the liar sent its bad block')
  // The failed piece's leaves were asked for: of the liar first (dialled first), which rejects; then of the seeder.
  assert.ok(liars[0]!.leafRequests > 0, 'leaf hashes were requested')
  const banned = leecher.handles.get(id)!.banned()
  assert.ok(banned.includes(liar), `the liar is banned (banned: ${banned.join(', ')})`)
  assert.ok(!banned.includes(honest), 'the honest seeder is never struck')
  // One bad block was sent, so one piece failed (endgame duplicates count as discarded too).
  assert.ok(done.discarded >= PIECE, `discarded ${done.discarded}`)
  await pollUntil(() => liars[0]!.closed ? true : undefined, { timeoutMs: 10_000, what: 'the liar closed' })
})
