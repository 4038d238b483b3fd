import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { PieceAssembly, MAX_BUFFERED, WRITE_CHUNK, type AssemblyOptions, type PieceAttempt } from '../../../lib/engine/download/assembly.ts'
import { PiecePicker } from '../../../lib/engine/download/picker.ts'
import { PendingIo } from '../../../lib/engine/torrent/pending-io.ts'
import { createHasher } from '../../../lib/engine/disk/hasher.ts'
import { MemoryStorage, metainfoOf } from '../../support/engine-fakes.ts'

const B = 16384

const rig = (data: Uint8Array, pieceLength: number, o: Partial<AssemblyOptions> = {}) => {
  const meta = metainfoOf(data, pieceLength)
  const picker = new PiecePicker({ pieceCount: meta.pieceCount, pieceLength, length: data.length })
  const storage = new MemoryStorage(data.length)
  const io = new PendingIo()
  const settled: { piece: number; ok: boolean; attempt: PieceAttempt }[] = []
  const failures: string[] = []
  let drained = 0
  const asm = new PieceAssembly({
    meta,
    pieces: picker,
    storage,
    hasher: createHasher({ workers: 0 }),
    hashInline: false,
    io,
    closed: () => false,
    settled: (piece, ok, attempt) => settled.push({ piece, ok, attempt }),
    failed: (reason) => failures.push(reason),
    drained: () => drained++,
    ...o
  })
  const block = (piece: number, b: number, sender: string, bytes = data): void => {
    const at = piece * pieceLength + b * B
    const size = picker.pieceSize(piece)
    asm.add(piece, b * B, bytes.subarray(at, Math.min(at + B, piece * pieceLength + size)), sender, b === picker.blocksOf(piece) - 1)
  }
  return { asm, storage, io, settled, failures, block, drained: () => drained, picker }
}

for (const hashInline of [false, true]) {
  test(`assembly (${hashInline ? 'inline hash' : 'hasher'}): blocks in any order become a verified piece on disk, with each block's sender`, async () => {
    const data = randomBytes(8 * B)
    const r = rig(data, 8 * B, { hashInline })
    for (const b of [1, 0, 2, 3, 5, 4, 6]) r.block(0, b, b % 2 === 0 ? 'a' : 'b')
    assert.equal(r.settled.length, 0)
    r.block(0, 7, 'b')
    await r.io.idle()
    assert.equal(r.settled.length, 1)
    const { ok, attempt } = r.settled[0]!
    assert.equal(ok, true)
    assert.deepEqual([...attempt.senders], [['b', 4 * B], ['a', 4 * B]])
    assert.deepEqual(attempt.from, ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b'])
    assert.ok(r.storage.data.equals(data))
    const bytes = await new Promise<Uint8Array | null>((resolve) => attempt.data(resolve))
    assert.ok(Buffer.from(bytes!).equals(data), 'the attempt gives the bytes as hashed')
  })
}

test('assembly: a verified piece\'s buffer can be taken while it settles: its bytes stay, later pieces get other buffers; not taken, it is reused; a bad piece gives none', async () => {
  for (const hashInline of [false, true]) {
    const data = randomBytes(6 * B)
    const wrong = Buffer.from(data)
    wrong[4 * B] = wrong[4 * B]! ^ 1
    const taken: Array<Uint8Array | null> = []
    const again: Array<Uint8Array | null> = []
    const seen: Uint8Array[] = []
    const r = rig(data, 2 * B, {
      hashInline,
      settled: (piece, _ok, attempt) => {
        attempt.data((d) => (seen[piece] = d!))
        if (piece === 0 && taken[0] === undefined) return void (taken[0] = null) // left to the assembly
        taken[piece] = attempt.take!()
        again[piece] = attempt.take!()
      },
    })
    for (const piece of [0, 1]) {
      r.block(piece, 0, 'a')
      r.block(piece, 1, 'a')
      await r.io.idle()
    }
    r.block(2, 0, 'a', wrong)
    r.block(2, 1, 'a', wrong)
    await r.io.idle()
    assert.equal(taken[1], seen[0], 'piece 0 was not taken: its buffer held piece 1')
    assert.ok(Buffer.from(taken[1]!).equals(data.subarray(2 * B, 4 * B)), 'the taken buffer holds the verified piece')
    assert.equal(taken[2], null, 'a piece that failed its check gives nothing')
    assert.deepEqual([again[1], again[2]], [null, null], 'taken once at most')
    // a later piece never lands in the taken buffer
    r.block(0, 0, 'a')
    r.block(0, 1, 'a')
    await r.io.idle()
    assert.ok(Buffer.from(taken[1]!).equals(data.subarray(2 * B, 4 * B)), `still piece 1's bytes (${hashInline ? 'inline' : 'hasher'})`)
  }
})

test('assembly: contiguous blocks are written in WRITE_CHUNK runs, not one write per block', async () => {
  const data = randomBytes(16 * B)
  const r = rig(data, 16 * B)
  for (let b = 0; b < WRITE_CHUNK / B - 1; b++) r.block(0, b, 'a')
  await r.io.idle()
  assert.equal(r.storage.writes, 0, 'less than a chunk: nothing written yet')
  for (let b = WRITE_CHUNK / B - 1; b < 16; b++) r.block(0, b, 'a')
  await r.io.idle()
  assert.ok(r.storage.writes <= 16 * B / WRITE_CHUNK + 1, `${r.storage.writes} writes`)
  assert.ok(r.storage.data.equals(data))
})

test('assembly: a bad piece settles not ok; a write error reports the reason', async () => {
  const data = randomBytes(2 * B)
  const wrong = Buffer.from(data)
  wrong[5] = wrong[5]! ^ 1
  const r = rig(data, 2 * B)
  r.block(0, 0, 'a', wrong)
  r.block(0, 1, 'a', wrong)
  await r.io.idle()
  assert.equal(r.settled[0]?.ok, false)
  const w = rig(data, 2 * B)
  w.storage.failWrites = true
  w.block(0, 0, 'a')
  w.block(0, 1, 'a')
  await w.io.idle()
  assert.deepEqual(w.failures, ['cannot write: disk full'])
})

test('assembly: past MAX_BUFFERED of complete pieces waiting for disk it is full; drained once half is written', async () => {
  const pieceLength = 1 << 20
  const pieces = MAX_BUFFERED / pieceLength + 2
  const data = Buffer.alloc(pieces * pieceLength)
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  const r = rig(data, pieceLength)
  const write = r.storage.write.bind(r.storage)
  r.storage.write = async (offset, bytes) => {
    await gate
    return write(offset, bytes)
  }
  for (let p = 0; p < pieces; p++) for (let b = 0; b < pieceLength / B; b++) r.block(p, b, 'a')
  assert.equal(r.asm.full(), true)
  assert.equal(r.drained(), 0)
  release()
  await r.io.idle()
  assert.equal(r.asm.full(), false)
  assert.equal(r.drained(), 1)
  assert.equal(r.settled.filter((s) => s.ok).length, pieces)
})
