/**
 * `npm run fuzz`: the metainfo fuzz properties of spec/fuzz/metainfo.fuzz.spec.ts at
 * nightly scale (default 100,000 hostile inputs, plus multi-megabyte garbage and
 * the info-bytes cross-check). Prints the seed first; replay a failure with
 * `FUZZ_SEED=<seed> npm run fuzz` (and FUZZ_RUNS=<n> to change the count).
 */
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { parseMetainfo, metainfoFromInfoBytes, bencode } from '../lib/engine/metainfo/index.ts'
import { bigGarbage, hostileBytes, outcomeProblem, torrentWithInfo } from '../spec/support/fuzz-arbitraries.ts'

const seed = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
const runs = Number(process.env['FUZZ_RUNS'] ?? 100_000)
console.log(`metainfo fuzz: seed ${seed}, ${runs} hostile inputs (replay: FUZZ_SEED=${seed} npm run fuzz)`)

async function main (): Promise<void> {
  const started = process.hrtime.bigint()
  let accepted = 0
  let refused = 0
  const reasons = new Map<string, number>()
  await fc.assert(fc.asyncProperty(hostileBytes, async bytes => {
    const r = await parseMetainfo(bytes)
    const problem = outcomeProblem(r)
    if (problem !== null) throw new Error(problem)
    if (r.ok) accepted++
    else {
      refused++
      const kind = r.reason.replace(/\d+/g, 'N').replace(/".*"/g, '"…"').slice(0, 70)
      reasons.set(kind, (reasons.get(kind) ?? 0) + 1)
    }
  }), { numRuns: runs, seed })
  console.log(`hostile inputs: ${accepted} accepted, ${refused} refused`)

  await fc.assert(fc.asyncProperty(bigGarbage, async bytes => {
    const r = await parseMetainfo(bytes)
    if (r.ok || outcomeProblem(r) !== null) throw new Error('multi-megabyte garbage was not refused with a reason')
  }), { numRuns: Math.max(10, Math.floor(runs / 2000)), seed })
  console.log('multi-megabyte garbage: all refused with a reason')

  let compared = 0
  await fc.assert(fc.asyncProperty(torrentWithInfo, async ({ torrent, info }) => {
    const whole = await parseMetainfo(torrent)
    if (outcomeProblem(whole) !== null || info === undefined) return outcomeProblem(whole) === null
    const infoBytes = bencode(info)
    const bare = await metainfoFromInfoBytes(infoBytes)
    if (outcomeProblem(bare) !== null || bare.ok !== whole.ok) return false
    if (!whole.ok || !bare.ok) return true
    compared++
    const sha1 = createHash('sha1').update(infoBytes).digest('hex')
    return whole.value.infoHash === sha1 && bare.value.infoHash === sha1
  }), { numRuns: Math.max(1000, Math.floor(runs / 5)), seed })
  console.log(`info-bytes cross-check: ${compared} valid torrents compared`)

  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  console.log(`done in ${seconds.toFixed(1)} s. Most common refusals:`)
  for (const [kind, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${String(n).padStart(7)}  ${kind}`)
}

main().catch(err => {
  console.error(err instanceof Error ? err.message : err)
  console.error(`FAILED with seed ${seed}`)
  process.exitCode = 1
})
