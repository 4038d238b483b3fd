/**
 * Load: one service over the real engine, 1,000 patrons and 200
 * small torrents (64-256 KiB, 16 KiB pieces) seeded by one engine instance on
 * 127.0.0.1. Every patron creates one torrent (five patrons per torrent: one
 * NewTorrentCreated and four TorrentAlreadyDownloading co-owners) and must see
 * exactly its own reply and its own torrent's updates, down to "seeding";
 * every engine update reaches every present owner once; after everyone leaves,
 * the engine is disposed and no fd, socket, worker or handle is left over.
 * The scenario lives in spec/support/load-scenario.ts (bench/load.ts times it).
 * Time and memory are reported as diagnostics, not asserted.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runLoad } from '../support/load-scenario.ts'

test('1,000 patrons on 200 torrents: each sees exactly its own replies and updates, nothing left open', { timeout: 90_000 }, async (t) => {
  const r = await runLoad({ patrons: 1000, torrents: 200, minSize: 64 << 10, maxSize: 256 << 10, timeoutMs: 60_000 })
  t.diagnostic(`seeder setup ${r.setupMs} ms; all replies ${r.repliesMs} ms; all complete ${r.completeMs} ms; released ${r.releaseMs} ms`)
  t.diagnostic(`peak RSS ${r.peakRssMiB.toFixed(0)} MiB, peak heap ${r.peakHeapMiB.toFixed(0)} MiB (from ${r.baseHeapMiB.toFixed(0)}); ${r.engineUpdates} engine updates, ${r.deliveredUpdates} delivered`)
  assert.deepEqual(r.violations, [])
  assert.equal(r.completed, 1000)
  assert.equal(r.created, 200)
  assert.equal(r.alreadyDownloading, 800)
  // Each engine update went to its owners only: never more deliveries than owners can account for.
  assert.ok(r.deliveredUpdates <= r.engineUpdates * 5, `${r.deliveredUpdates} deliveries for ${r.engineUpdates} updates of 5 owners each`)
})
