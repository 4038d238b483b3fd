/**
 * This project's checker as a benchmark child (of bench/check.ts): checks
 * the existing data of a torrent with `checkExisting` and prints one JSON
 * line with the time the check took and how many pieces were valid.
 *
 *   node --import tsx bench/check-engine.ts --torrent t.torrent --data DIR [--workers N]
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Hasher, Metainfo, ParseResult, Storage } from '../lib/engine/contracts.ts'
import { argValues, ENGINE_PARTS, report } from './lib/engine.ts'
import { projectRoot } from './lib/paths.ts'

const argv = process.argv.slice(2)
const [torrentFile] = argValues(argv, 'torrent')
const [data] = argValues(argv, 'data')
const workersArg = argValues(argv, 'workers')[0]
if (!torrentFile || !data) {
  console.error('usage: check-engine.ts --torrent FILE --data DIR [--workers N]')
  process.exit(2)
}

// Loaded by path at run time: the bench must typecheck before these files exist.
const load = <T>(part: keyof typeof ENGINE_PARTS): Promise<T> =>
  import(pathToFileURL(join(projectRoot, ENGINE_PARTS[part])).href) as Promise<T>
const { parseMetainfo } = await load<{ parseMetainfo(b: Uint8Array): Promise<ParseResult<Metainfo>> | ParseResult<Metainfo> }>(
  'metainfo'
)
const { openFileStorage } = await load<{ openFileStorage(folder: string, files: Metainfo['files']): Storage | Promise<Storage> }>(
  'storage'
)
const { createHasher } = await load<{ createHasher(o: { workers?: number }): Hasher }>('hasher')
const { checkExisting } = await load<{
  checkExisting(s: Storage, m: Metainfo, h: Hasher, onProgress?: (fraction: number) => void): Promise<unknown>
}>('checker')

const parsed = await parseMetainfo(readFileSync(torrentFile))
if (!parsed.ok) {
  console.error(`check: ${parsed.reason}`)
  process.exit(1)
}
const meta = parsed.value
const storage = await openFileStorage(data, meta.files)
const hasher = createHasher(workersArg === undefined ? {} : { workers: Number(workersArg) })

/** Valid pieces in whatever checkExisting returns (a bitfield, booleans, or a count). */
const countValid = (r: unknown): number | null => {
  if (typeof r === 'number') return r
  if (Array.isArray(r)) return r.filter(Boolean).length
  const o = r as { count?: () => number; piecesDone?: number; have?: (i: number) => boolean; get?: (i: number) => boolean } | null
  if (o && typeof o.count === 'function') return o.count()
  if (o && typeof o.piecesDone === 'number') return o.piecesDone
  const probe = o && (typeof o.have === 'function' ? o.have.bind(o) : typeof o.get === 'function' ? o.get.bind(o) : null)
  if (probe) {
    let n = 0
    for (let i = 0; i < meta.pieceCount; i++) if (probe(i)) n++
    return n
  }
  return null
}

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
  validPieces: countValid(result),
  progressEvents,
  resourceUsage: process.resourceUsage()
})
process.exit(0)
