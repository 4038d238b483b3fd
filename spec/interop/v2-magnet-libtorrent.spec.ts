/**
 * A v2-only magnet (`xt=urn:btmh:1220...` alone) against python3-libtorrent
 * 2.0.8 on 127.0.0.1: the engine fetches the info dictionary with ut_metadata,
 * then every file's piece layer with BEP 52 hash requests (checked against the
 * file's pieces root), then downloads; the files are compared byte for byte.
 * The same from a .torrent whose piece layers were removed (only the layers
 * come from libtorrent).
 * Plain TCP with MSE off: this spec is about v2; transports have their own.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { makeTempDir } from '../support/peers/tmp.ts'
import { makeRandomTree, compareTrees } from '../support/peers/data.ts'
import { startLibtorrent } from '../support/peers/libtorrent.ts'
import { ltMake } from '../support/peers/libtorrent-oracle.ts'
import { runEngine } from '../support/engine.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { withoutPieceLayers } from '../support/strip-layers.ts'

const cases = [
  { name: 'four files, 64 KiB pieces', pieceLength: 64 * 1024, sizes: [3_000_000, 1_500_001, 65_536, 900], form: 'magnet' },
  { name: 'four files, 64 KiB pieces', pieceLength: 64 * 1024, sizes: [3_000_000, 1_500_001, 65_536, 900], form: 'torrent' },
  // 16 KiB pieces: the piece layer is the leaf layer; the big file's 601 pieces take two hash requests.
  { name: 'a file of 601 pieces of 16 KiB', pieceLength: 16 * 1024, sizes: [600 * 16384 + 77, 40_000], form: 'magnet' }
] as const

for (const c of cases) {
  const what = c.form === 'magnet' ? 'v2-only magnet' : 'v2-only .torrent without its piece layers'
  const from = c.form === 'magnet' ? 'metadata and piece layers' : 'piece layers'
  test(`${what} (${c.name}): ${from} from libtorrent, then the data, byte-identical`, { timeout: 180_000 }, async (t) => {
    const tmp = await makeTempDir('t20-v2mag-')
    t.after(() => tmp.close())
    const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { sizes: c.sizes })
    const torrentPath = join(tmp.path, 't.torrent')
    const parsed = await parseMetainfo(await ltMake(tree.root, torrentPath, 'v2', c.pieceLength), { acceptV2Only: true })
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
    assert.equal(parsed.value.version, 'v2')
    const seeder = await startLibtorrent({ torrent: torrentPath, save: join(tmp.path, 'seed') })
    t.after(() => seeder.close())
    await seeder.waitForStatus(s => s.seeding, 'libtorrent seeding', 60_000)
    const peer = `127.0.0.1:${seeder.port}`
    const engine = runEngine(t, { utp: false, outgoingEncryption: 'disabled' })
    const id = c.form === 'magnet'
      ? await engine.create(`magnet:?xt=urn:btmh:1220${parsed.value.v2?.infoHash ?? ''}&x.pe=${peer}`, join(tmp.path, 'out'))
      : await engine.create(withoutPieceLayers(await readFile(torrentPath)), join(tmp.path, 'out'), [peer])
    const done = await engine.waitSeeding(id, 150_000)
    assert.equal(done.version, 'v2')
    assert.equal(done.infoHashV2, parsed.value.v2?.infoHash)
    assert.equal(done.size, parsed.value.fileBytes)
    assert.equal(done.discarded, 0)
    assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
  })
}
