/**
 * BEP 6 fast extension against python3-libtorrent 2.0 on 127.0.0.1, whose
 * wire log shows which messages crossed: our seed greets it with Have All;
 * its seed greets us with Have All and we download; a libtorrent seed that
 * never unchokes (unchoke_slots_limit 0) still lets us fetch the pieces of
 * its allowed-fast set, and only those.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { writeRandomFile } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { freePort } from '../support/peers/ports.ts'
import { startLibtorrent } from '../support/peers/libtorrent.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../lib/engine/contracts.ts'

const SIZE = 2 << 20 // 64 pieces of 32 KiB

const fixture = async (t: { after(fn: () => unknown): void }) => {
  const tmp = await makeTempDir('fast-lt-')
  t.after(() => tmp.close())
  const file = join(tmp.path, 'seed', 'data.bin')
  await writeRandomFile(file, SIZE)
  const made = await mktorrent(file, join(tmp.path, 'data.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  return { tmp, made, meta: parsed.value, seedDir: join(tmp.path, 'seed') }
}

const piecesOnDisk = async (file: string, m: Metainfo): Promise<number[]> => {
  const data = await readFile(file).catch(() => Buffer.alloc(0))
  const good: number[] = []
  for (let i = 0; i < m.pieceCount; i++) {
    const piece = data.subarray(i * m.pieceLength, (i + 1) * m.pieceLength)
    if (piece.length > 0 && createHash('sha1').update(piece).digest().equals(Buffer.from(m.pieceHashes.subarray(i * 20, i * 20 + 20)))) good.push(i)
  }
  return good
}

test('our seed greets libtorrent with Have All and it downloads everything', { timeout: 120_000 }, async (t) => {
  const { made, seedDir, tmp } = await fixture(t)
  const port = await freePort()
  const engine = runEngine(t, { port, host: '127.0.0.1' })
  const id = await engine.create(made.bytes, seedDir)
  await engine.waitSeeding(id, 30_000)
  const lt = await startLibtorrent({ torrent: made.path, save: join(tmp.path, 'lt'), connect: [['127.0.0.1', port]] })
  t.after(() => lt.close())
  await lt.waitForStatus((s) => s.seeding, 'libtorrent to finish', 90_000)
  const log = await lt.wireLog()
  assert.ok(log.some((m) => /HAVE_ALL/.test(m)), `no HAVE_ALL in libtorrent's log:\n${log.slice(0, 40).join('\n')}`)
  assert.ok(!log.some((m) => /<== BITFIELD/.test(m)), 'a seed with the fast extension sends no bitfield')
})

test('libtorrent\'s Have All is honoured: we download from a libtorrent seed', { timeout: 120_000 }, async (t) => {
  const { made, seedDir, tmp, meta } = await fixture(t)
  const lt = await startLibtorrent({ torrent: made.path, save: seedDir })
  t.after(() => lt.close())
  await lt.waitForStatus((s) => s.seeding, 'libtorrent to check its data')
  const engine = runEngine(t)
  const id = await engine.create(made.bytes, join(tmp.path, 'leech'), [`127.0.0.1:${lt.port}`])
  await engine.waitSeeding(id, 90_000)
  assert.equal((await piecesOnDisk(join(tmp.path, 'leech', 'data.bin'), meta)).length, meta.pieceCount)
  const log = await lt.wireLog()
  assert.ok(log.some((m) => /==> HAVE_ALL/.test(m)), `libtorrent sent no HAVE_ALL:\n${log.slice(0, 40).join('\n')}`)
})

test('a libtorrent seed that never unchokes: we fetch exactly its allowed-fast pieces while choked', { timeout: 120_000 }, async (t) => {
  const { made, seedDir, tmp, meta } = await fixture(t)
  const lt = await startLibtorrent({ torrent: made.path, save: seedDir, settings: { unchoke_slots_limit: 0, allowed_fast_set_size: 5 }, strictLocal: true })
  t.after(() => lt.close())
  await lt.waitForStatus((s) => s.seeding, 'libtorrent to check its data')
  const engine = runEngine(t)
  const id = await engine.create(made.bytes, join(tmp.path, 'leech'), [`127.0.0.1:${lt.port}`])
  // libtorrent hashes the whole address (no /24 mask, unlike the BEP), so its set is read from its log.
  // It sends the set on each connection (less the pieces we have by then): the set is the distinct pieces.
  const allowedIn = (log: string[]): number[] => [...new Set(log.flatMap((m) => {
    const hit = /==> ALLOWED_FAST \[ (\d+) \]/.exec(m)
    return hit === null ? [] : [Number(hit[1])]
  }))].sort((a, b) => a - b)
  const wire = (log: string[]): string => log.filter((m) => /UNCHOKE|ALLOWED_FAST|CHOKE|REJECT|CANCEL|HAVE_ALL|INTERESTED|CONNECTION/.test(m))
    .map((m) => m.replace(/^.*\] \[[^\]]*\] /, '')).join('\n')
  const expected = await pollUntil(async () => {
    const a = allowedIn(await lt.wireLog())
    return a.length >= 5 ? a : undefined
  }, { timeoutMs: 30_000, what: 'libtorrent to send its allowed-fast set', explain: () => wire(lt.wireLogNow()) })
  // Verified pieces are on disk: wait for the engine to verify as many as the set holds, then read the file.
  await engine.waitFor(id, 'the allowed-fast pieces', (s) => s.piecesDone >= expected.length, 60_000)
    .catch((err: Error) => { throw new Error(`${err.message}\n${wire(lt.wireLogNow())}`) })
  const got = await piecesOnDisk(join(tmp.path, 'leech', 'data.bin'), meta)
  const log = await lt.wireLog()
  assert.deepEqual(got, expected, wire(log))
  assert.ok(!log.some((m) => /==> UNCHOKE/.test(m)), 'libtorrent never unchoked us')
})
