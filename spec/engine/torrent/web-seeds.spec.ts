import { test } from 'node:test'
import assert from 'node:assert/strict'
import { webSeedsOf } from '../../../lib/engine/torrent/web-seeds.ts'
import { PiecePicker } from '../../../lib/engine/download/picker.ts'
import { TorrentStatus } from '../../../lib/engine/torrent/status.ts'
import type { PieceAssembly } from '../../../lib/engine/download/assembly.ts'
import { metainfoOf, ManualClock } from '../../support/engine-fakes.ts'

const rig = (urlList: string[], webSeeds?: boolean) => {
  const meta = { ...metainfoOf(Buffer.alloc(4 * 16384, 1), 16384), urlList }
  const picker = new PiecePicker({ pieceCount: meta.pieceCount, pieceLength: meta.pieceLength, length: meta.length })
  const status = new TorrentStatus(meta, picker, new ManualClock().now)
  const assembly = { add() {}, full: () => false } as unknown as PieceAssembly
  return webSeedsOf({ meta, ctx: { webSeeds }, picker, assembly: () => assembly, status, running: () => true })
}

test('web seeds: none without BEP 19 URLs or when turned off', () => {
  assert.equal(rig([]), null)
  assert.equal(rig(['http://127.0.0.1:9/x/'], false), null)
})

test('web seeds: one per URL, stopped before it claims anything', async () => {
  const seeds = rig(['http://127.0.0.1:9/a/', 'http://127.0.0.1:9/b/'])
  assert.notEqual(seeds, null)
  assert.deepEqual(seeds!.stats().map((s) => s.url), ['http://127.0.0.1:9/a/', 'http://127.0.0.1:9/b/'])
  await seeds!.stop()
})
