/**
 * qbittorrent-nox seeding a v2-only torrent that the engine's maker made of
 * random files (TCP only), for specs where qBittorrent is the source.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../lib/engine/contracts.ts'
import { makeRandomTree, type RandomTree, type RandomTreeOptions } from './peers/data.ts'
import { startQbittorrent } from './peers/qbittorrent.ts'

/** qBittorrent seeding `<dir>/seed/payload` (made with `files`) as a v2-only torrent of 32 KiB pieces; closed when the test ends. */
export async function qbSeedingV2 (t: { after(fn: () => unknown): void }, dir: string, files: RandomTreeOptions): Promise<{ tree: RandomTree, bytes: Uint8Array, meta: Metainfo, peer: string }> {
  const tree = await makeRandomTree(join(dir, 'seed', 'payload'), files)
  const bytes = await makeTorrent(tree.root, { announce: 'http://127.0.0.1:1/announce', pieceLength: 32 * 1024, version: 'v2' })
  const parsed = await parseMetainfo(bytes, { acceptV2Only: true })
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason)
  const qb = await startQbittorrent({ bitTorrentSettings: ['Session\\BTProtocol=TCP'] })
  t.after(() => qb.close())
  await qb.addTorrent(bytes, parsed.value.infoHash, { savePath: join(dir, 'seed'), skipChecking: true })
  await qb.waitComplete(parsed.value.infoHash, 30_000)
  return { tree, bytes, meta: parsed.value, peer: qb.peer }
}
