/**
 * Outgoing message stream encryption through the engine's own dialler: an
 * engine leecher downloads byte-identical from an aria2c seeder that requires
 * RC4 (`--bt-require-crypto=true --bt-min-crypto-level=arc4`), which drops
 * every plaintext handshake, with the default level ('enabled') and with
 * 'forced'.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runEngine } from '../support/engine.ts'
import { makeTempDir } from '../support/peers/tmp.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import type { EncryptionLevel } from '../../lib/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'

for (const level of ['enabled', 'forced'] as EncryptionLevel[]) {
  test(`outgoingEncryption '${level}': the engine downloads from an aria2c seeder that requires RC4`, { timeout: 180_000 }, async (t) => {
    const tmp = await makeTempDir('h15-mse-out-')
    t.after(() => tmp.close())
    const dir = join(tmp.path, 'seed')
    await mkdir(dir)
    const data = randomBytes((2 << 20) + 777)
    await writeFile(join(dir, 'data.bin'), data)
    const made = await mktorrent(join(dir, 'data.bin'), join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
    const seeder = await startAria2Seeder({ torrentPath: made.path, dir, extraArgs: ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4'] })
    t.after(() => seeder.close())
    const out = join(tmp.path, 'out')
    const engine = runEngine(t, { port: 0, host: '127.0.0.1', outgoingEncryption: level, utp: false })
    const id = await engine.create(made.bytes, out, [seeder.peer])
    await engine.waitSeeding(id, 150_000)
    assert.ok((await readFile(join(out, 'data.bin'))).equals(data), 'byte-identical')
  })
}

test("a magnet's metadata phase opens obfuscated too: metadata and data from an aria2c seeder that requires RC4", { timeout: 180_000 }, async (t) => {
  const tmp = await makeTempDir('mse-magnet-')
  t.after(() => tmp.close())
  const dir = join(tmp.path, 'seed')
  await mkdir(dir)
  const data = randomBytes((1 << 20) + 333)
  await writeFile(join(dir, 'data.bin'), data)
  const made = await mktorrent(join(dir, 'data.bin'), join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
  const meta = await parseMetainfo(made.bytes)
  assert.ok(meta.ok, meta.ok ? '' : meta.reason)
  const seeder = await startAria2Seeder({ torrentPath: made.path, dir, extraArgs: ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4'] })
  t.after(() => seeder.close())
  const out = join(tmp.path, 'out')
  const engine = runEngine(t, { port: 0, host: '127.0.0.1', utp: false })
  const id = await engine.create(`magnet:?xt=urn:btih:${meta.value.infoHash}&x.pe=${seeder.peer}`, out)
  await engine.waitSeeding(id, 150_000)
  assert.ok((await readFile(join(out, 'data.bin'))).equals(data), 'byte-identical')
})
