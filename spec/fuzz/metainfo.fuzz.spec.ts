/**
 * Fuzzing parseMetainfo and metainfoFromInfoBytes with hostile input (fast-check).
 * CI runs 5,000+ generated cases here; `npm run fuzz` (bench/fuzz.ts) runs the same
 * properties at 100,000. Set FUZZ_SEED to replay a failure.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { parseMetainfo, metainfoFromInfoBytes, bencode } from '../../lib/engine/metainfo/index.ts'
import { bigGarbage, hostileBytes, outcomeProblem, torrentWithInfo } from '../support/fuzz-arbitraries.ts'

const seed = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : undefined
const params = (numRuns: number): fc.Parameters<unknown> => (seed === undefined ? { numRuns } : { numRuns, seed })

test('hostile bytes: parseMetainfo always resolves to a safe torrent or a reason (5,000 cases)', { timeout: 120_000 }, async () => {
  let accepted = 0
  let refused = 0
  await fc.assert(fc.asyncProperty(hostileBytes, async bytes => {
    const r = await parseMetainfo(bytes)
    const problem = outcomeProblem(r)
    if (problem !== null) throw new Error(problem)
    if (r.ok) accepted++
    else refused++
  }), params(5000) as fc.Parameters<[Uint8Array]>)
  // The generators must reach both branches, or the property proves little.
  assert.ok(accepted >= 100, `only ${accepted} generated torrents were accepted`)
  assert.ok(refused >= 1000, `only ${refused} generated torrents were refused`)
})

test('multi-megabyte garbage is refused with a reason, never thrown', { timeout: 120_000 }, async () => {
  await fc.assert(fc.asyncProperty(bigGarbage, async bytes => {
    const r = await parseMetainfo(bytes)
    assert.equal(r.ok, false)
    assert.equal(outcomeProblem(r), null)
  }), params(6) as fc.Parameters<[Uint8Array]>)
})

test('the info hash is the SHA-1 of the info bytes, and metainfoFromInfoBytes agrees with parseMetainfo', { timeout: 120_000 }, async () => {
  let compared = 0
  await fc.assert(fc.asyncProperty(torrentWithInfo, async ({ torrent, info }) => {
    const whole = await parseMetainfo(torrent)
    assert.equal(outcomeProblem(whole), null)
    if (info === undefined) return
    const infoBytes = bencode(info)
    const bare = await metainfoFromInfoBytes(infoBytes)
    assert.equal(outcomeProblem(bare), null)
    assert.equal(bare.ok, whole.ok, `${bare.ok ? '' : bare.reason} / ${whole.ok ? '' : whole.reason}`)
    if (!whole.ok || !bare.ok) return
    compared++
    const sha1 = createHash('sha1').update(infoBytes).digest('hex')
    assert.equal(whole.value.infoHash, sha1)
    assert.equal(bare.value.infoHash, sha1)
    assert.deepEqual(bare.value.files, whole.value.files)
    assert.deepEqual(Buffer.from(whole.value.infoBytes), Buffer.from(infoBytes))
  }), params(1500) as fc.Parameters<[{ torrent: Uint8Array; info: unknown }]>)
  assert.ok(compared >= 50, `only ${compared} valid torrents compared`)
})
