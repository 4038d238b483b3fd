/**
 * This project's checker as a benchmark child (of bench/check.ts): checks
 * the existing data of a torrent with `checkExisting` and prints one JSON
 * line with the time the check took and how many pieces were valid.
 *
 *   node --import tsx bench/check-engine.ts --torrent t.torrent --data DIR [--workers N]
 */
import { readFileSync } from 'node:fs'
import { checkExisting } from '../lib/engine/disk/checker.ts'
import { openFileStorage } from '../lib/engine/disk/file-storage.ts'
import { createHasher } from '../lib/engine/disk/hasher.ts'
import { parseMetainfo } from '../lib/engine/metainfo/index.ts'
import { argValues, report } from './lib/engine.ts'

const argv = process.argv.slice(2)
const [torrentFile] = argValues(argv, 'torrent')
const [data] = argValues(argv, 'data')
const workersArg = argValues(argv, 'workers')[0]
if (!torrentFile || !data) {
  console.error('usage: check-engine.ts --torrent FILE --data DIR [--workers N]')
  process.exit(2)
}

const parsed = await parseMetainfo(readFileSync(torrentFile), { acceptV2Only: true })
if (!parsed.ok) {
  console.error(`check: ${parsed.reason}`)
  process.exit(1)
}
const meta = parsed.value
const storage = await openFileStorage(data, meta.files, { readonly: true })
const hasher = createHasher(workersArg === undefined ? {} : { workers: Number(workersArg) })

let progressEvents = 0
const t0 = performance.now()
const result = await checkExisting(storage, meta, hasher, () => progressEvents++)
const checkMs = performance.now() - t0
await storage.close()
await hasher.close()
report({
  event: 'checked',
  checkMs,
  bytes: meta.length,
  pieces: meta.pieceCount,
  validPieces: result.count(),
  progressEvents,
  resourceUsage: process.resourceUsage()
})
process.exit(0)
