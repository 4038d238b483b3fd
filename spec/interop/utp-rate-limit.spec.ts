/**
 * Rate limits hold over uTP: a uTP-only engine leecher fetches 3 MiB from a
 * uTP-only engine seeder under a 512 KiB/s limit, on the download side (the
 * leecher's) and on the upload side (the seeder's). A limit is a correctness
 * property, not a speed claim: the bytes the engine counted from the first
 * one to completion cannot have moved faster than the limit allows, with
 * 20 % slack for the bucket's initial burst (so the run lasts at least 0.8
 * of bytes / limit). The data is byte-identical, and every connection of the
 * run was uTP.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import type { ClientOptions } from '../../lib/engine/index.ts'
import { isTorrentStatusUpdate } from '../../lib/messages.ts'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'

const SIZE = 3 << 20
const LIMIT = 512 << 10

for (const [side, seederLimit, leecherLimit] of [
  ['download limit of the leecher', {}, { downloadRateLimit: LIMIT }],
  ['upload limit of the seeder', { uploadRateLimit: LIMIT }, {}]
] as Array<[string, ClientOptions, ClientOptions]>) {
  test(`uTP only: the ${side} holds (3 MiB at 512 KiB/s)`, { timeout: 120_000 }, async (t) => {
    const tmp = await makeTempDir('t15e-utp-rate-')
    t.after(() => tmp.close())
    const file = join(tmp.path, 'seed', 'payload.bin')
    await mkdir(dirname(file), { recursive: true })
    await writeRandomFile(file, SIZE)
    const bytes = await makeTorrent(file, { announce: 'http://127.0.0.1:1/announce', pieceLength: 65536 })
    const port = await freePort('both')
    const seeder = runEngine(t, { port, host: '127.0.0.1', tcp: false, statusInterval: 20, ...seederLimit })
    const sid = await seeder.create(bytes, dirname(file))
    await seeder.waitSeeding(sid, 30_000)
    const leecher = runEngine(t, { port: 0, host: '127.0.0.1', tcp: false, statusInterval: 20, ...leecherLimit })
    const out = join(tmp.path, 'out')
    const id = await leecher.create(bytes, out, [`127.0.0.1:${port}`])
    const first = await pollUntil(() => {
      const s = leecher.latest(id)
      return s !== undefined && s.downTotal > 0 ? s.downTotal : undefined
    }, { timeoutMs: 60_000, intervalMs: 5, what: 'the first bytes over uTP' })
    const t0 = performance.now()
    const done = await leecher.waitSeeding(id, 90_000)
    const seconds = (performance.now() - t0) / 1000
    const moved = done.downTotal - first
    const least = (0.8 * moved) / LIMIT
    t.diagnostic(`${side}: ${moved} bytes in ${seconds.toFixed(2)} s (at the limit: ${(moved / LIMIT).toFixed(2)} s; at least ${least.toFixed(2)} s)`)
    assert.ok(moved >= SIZE / 2, `most of the data came after the first status: ${moved}`)
    assert.ok(seconds >= least, `${moved} bytes in ${seconds.toFixed(2)} s: faster than ${LIMIT} B/s allows`)
    assert.ok((await readFile(join(out, 'payload.bin'))).equals(await readFile(file)), 'byte-identical')
    const all = leecher.out.events.filter(isTorrentStatusUpdate).filter((m) => m.torrentid === id).map((m) => m.statsdictionary)
    assert.ok(all.some((s) => (s.peerTransports?.utp ?? 0) === 1) && all.every((s) => (s.peerTransports?.tcp ?? 0) === 0), 'over uTP only')
  })
}
