/**
 * A v2-only magnet against qbittorrent-nox 4.5.2 (libtorrent 2.0) on
 * 127.0.0.1: the info dictionary with ut_metadata and every piece layer with
 * BEP 52 hash requests from qBittorrent, then the data, compared byte for byte.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { makeTempDir } from '../support/peers/tmp.ts'
import { compareTrees } from '../support/peers/data.ts'
import { qbSeedingV2 } from '../support/qb-v2.ts'
import { runEngine } from '../support/engine.ts'

test('v2-only magnet: metadata and piece layers from qBittorrent, then the data, byte-identical', { timeout: 180_000 }, async (t) => {
  const tmp = await makeTempDir('t20-qbmag-')
  t.after(() => tmp.close())
  const { tree, meta, peer } = await qbSeedingV2(t, tmp.path, { sizes: [2_500_000, 700_001, 30_000] })
  const engine = runEngine(t, { utp: false, outgoingEncryption: 'disabled' })
  const id = await engine.create(`magnet:?xt=urn:btmh:1220${meta.v2?.infoHash ?? ''}&x.pe=${peer}`, join(tmp.path, 'out'))
  const done = await engine.waitSeeding(id, 150_000)
  assert.equal(done.version, 'v2')
  assert.equal(done.infoHashV2, meta.v2?.infoHash)
  assert.equal(done.discarded, 0)
  assert.equal(await compareTrees(tree.root, join(tmp.path, 'out', 'payload')), undefined)
})
