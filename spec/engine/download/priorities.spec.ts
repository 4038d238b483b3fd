import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Selection, priorityRank, isFilePriority, FILE_PRIORITIES, type FilePriority, type FileSpan } from '../../../lib/engine/download/priorities.ts'

/** Files laid end to end from lengths. */
function layout(lengths: readonly number[], pads: readonly boolean[] = []): FileSpan[] {
  let offset = 0
  return lengths.map((length, i) => {
    const f = { offset, length, pad: pads[i] ?? false }
    offset += length
    return f
  })
}
const geometry = (files: FileSpan[], pieceLength: number) => {
  const total = files.reduce((n, f) => n + f.length, 0)
  return { files, pieceLength, pieceCount: Math.ceil(total / pieceLength) }
}

test('a piece takes the highest priority of the files it overlaps; straddling pieces of a skipped file are still wanted', () => {
  // pieces of 10: file0 [0,15) file1 [15,35) file2 [35,40)
  const sel = new Selection(geometry(layout([15, 20, 5]), 10), ['normal', 'skip', 'high'])
  assert.deepEqual([...sel.pieceRanks()], [2, 2, 0, 3])
  assert.equal(sel.pieceWanted(1), true) // straddles file0 (wanted) and file1 (skipped)
  assert.equal(sel.pieceWanted(2), false) // inside file1 only
  assert.equal(sel.wantedBytes(), 20)
  assert.equal(sel.wantedBytesIn(1), 5)
  assert.equal(sel.wantedBytesIn(3), 5)
})

test('progress counts wanted bytes only; complete when every wanted piece is verified', () => {
  const sel = new Selection(geometry(layout([15, 20, 5]), 10), ['normal', 'skip', 'high'])
  const have = new Set<number>([0])
  assert.deepEqual(sel.progress((p) => have.has(p), 5), { fractionDone: 10 / 20, timeEst: 2 })
  have.add(1)
  have.add(3)
  assert.equal(sel.complete((p) => have.has(p)), true)
  assert.deepEqual(sel.progress((p) => have.has(p), 5), { fractionDone: 1, timeEst: null })
  assert.equal(sel.progress(() => false, 0).timeEst, null)
})

test('set returns only the pieces whose rank changed', () => {
  const sel = new Selection(geometry(layout([15, 20, 5]), 10))
  assert.deepEqual(sel.set(1, 'skip'), [{ piece: 2, rank: 0 }])
  assert.deepEqual(sel.set(1, 'skip'), [])
  assert.deepEqual(sel.set(1, 'high'), [{ piece: 1, rank: 3 }, { piece: 2, rank: 3 }, { piece: 3, rank: 3 }])
  assert.deepEqual(sel.priorities(), ['normal', 'high', 'normal'])
})

test('pad files are never wanted and never counted', () => {
  const sel = new Selection(geometry(layout([10, 6, 4], [false, true, false]), 10), ['skip', 'high', 'normal'])
  assert.equal(sel.priority(1), 'skip')
  assert.deepEqual(sel.set(1, 'high'), [])
  assert.deepEqual([...sel.pieceRanks()], [0, 2])
  assert.equal(sel.wantedBytes(), 4)
})

test('bad input: unknown file, unknown priority, wrong count', () => {
  const g = geometry(layout([15, 20]), 10)
  assert.throws(() => new Selection(g, ['normal']), /1 priorities for 2 files/)
  assert.throws(() => new Selection(g, ['normal', 'urgent' as FilePriority]), /bad priority "urgent"/)
  const sel = new Selection(g)
  assert.throws(() => sel.set(2, 'high'), /no file #2 \(the torrent has 2\)/)
  assert.throws(() => sel.set(-1, 'high'), /no file #-1/)
  assert.throws(() => sel.set(0, 'none' as FilePriority), /bad priority/)
  assert.equal(isFilePriority('low'), true)
  assert.equal(isFilePriority(3), false)
  assert.deepEqual(FILE_PRIORITIES.map(priorityRank), [0, 1, 2, 3])
})

/** Brute force: rank and wanted bytes of each piece, byte by byte. */
function model(files: FileSpan[], prios: FilePriority[], pieceLength: number, pieceCount: number) {
  const ranks = new Array<number>(pieceCount).fill(0)
  const wanted = new Array<number>(pieceCount).fill(0)
  files.forEach((f, i) => {
    if (f.pad) return
    for (let b = f.offset; b < f.offset + f.length; b++) {
      const k = Math.floor(b / pieceLength)
      ranks[k] = Math.max(ranks[k]!, priorityRank(prios[i]!))
      if (prios[i] !== 'skip') wanted[k]!++
    }
  })
  return { ranks, wanted }
}

const arbTorrent = fc
  .record({
    lengths: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 8 }),
    pieceLength: fc.integer({ min: 1, max: 16 }),
  })
  .filter((t) => t.lengths.some((l) => l > 0))
  .chain((t) =>
    fc.record({
      lengths: fc.constant(t.lengths),
      pieceLength: fc.constant(t.pieceLength),
      pads: fc.array(fc.boolean(), { minLength: t.lengths.length, maxLength: t.lengths.length }),
      prios: fc.array(fc.constantFrom(...FILE_PRIORITIES), { minLength: t.lengths.length, maxLength: t.lengths.length }),
      changes: fc.array(fc.tuple(fc.nat({ max: t.lengths.length - 1 }), fc.constantFrom(...FILE_PRIORITIES)), { maxLength: 10 }),
    }),
  )

test('property: after any sequence of changes, ranks and wanted bytes match a byte-by-byte model', () => {
  fc.assert(
    fc.property(arbTorrent, ({ lengths, pieceLength, pads, prios, changes }) => {
      const files = layout(lengths, pads)
      const g = geometry(files, pieceLength)
      const sel = new Selection(g, prios)
      const current = prios.map((p, i) => (pads[i] ? 'skip' : p))
      for (const [i, p] of changes) {
        const before = sel.pieceRanks()
        const changed = sel.set(i, p)
        if (!pads[i]) current[i] = p
        const after = sel.pieceRanks()
        // exactly the pieces reported changed differ
        const diff = [...after.keys()].filter((k) => after[k] !== before[k])
        assert.deepEqual(changed.map((c) => c.piece), diff)
      }
      const m = model(files, current, pieceLength, g.pieceCount)
      assert.deepEqual([...sel.pieceRanks()], m.ranks)
      assert.deepEqual(Array.from({ length: g.pieceCount }, (_, k) => sel.wantedBytesIn(k)), m.wanted)
      assert.equal(sel.wantedBytes(), files.reduce((n, f, i) => n + (f.pad || current[i] === 'skip' ? 0 : f.length), 0))
      // verified = wanted pieces only -> complete, fraction 1
      assert.equal(sel.complete((k) => m.ranks[k]! > 0), true)
      assert.equal(sel.progress((k) => m.ranks[k]! > 0, 1).fractionDone, 1)
    }),
    { numRuns: 300 },
  )
})

test('user file indices skip pad files; priorities spread over the metainfo, bad lists refused with a sentence', async () => {
  const { metaIndex, spreadPriorities } = await import('../../../lib/engine/download/priorities.ts')
  const files = layout([10, 6, 4, 3], [false, true, false, false])
  assert.equal(metaIndex(files, 0), 0)
  assert.equal(metaIndex(files, 1), 2)
  assert.equal(metaIndex(files, 2), 3)
  assert.equal(metaIndex(files, 3), null)
  assert.equal(metaIndex(files, -1), null)
  assert.equal(metaIndex(files, 1.5), null)
  assert.deepEqual(spreadPriorities(files, ['high', 'skip']), ['high', 'skip', 'skip', 'normal'])
  assert.deepEqual(spreadPriorities(files, undefined), ['normal', 'skip', 'normal', 'normal'])
  assert.equal(spreadPriorities(files, ['normal', 'normal', 'normal', 'normal']), '4 priorities for a torrent of 3 files')
  assert.equal(spreadPriorities(files, ['normal', 'urgent']), 'bad priority "urgent" for file 1 (skip, low, normal or high)')
})
