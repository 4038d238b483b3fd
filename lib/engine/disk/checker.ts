/**
 * Finds which pieces of a torrent are already on disk and correct.
 *
 * Reads large sequential chunks (4 MiB by default, whole pieces each),
 * hashes every piece on the hasher's workers with a few chunks in flight so
 * reading and both cores overlap, and yields to the event loop between chunks
 * so status updates keep flowing. Pieces touching a file that is absent or
 * shorter than it should be are missing without being read.
 *
 * @module
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { Hasher, Metainfo, Storage } from '../contracts.ts'
import { Bitfield } from '../wire/bitfield.ts'
import { merkleOfPiece, v2Targets, type V2PieceTarget } from '../metainfo/v2-pieces.ts'

/** The metainfo fields the checker uses. */
export type CheckedTorrent = Pick<Metainfo, 'pieceCount' | 'pieceLength' | 'length' | 'pieceHashes' | 'files' | 'version' | 'v2'>

/** Tuning of {@link checkExisting}. */
export interface CheckOptions {
  /** Bytes per read (rounded to whole pieces when pieces are smaller); default 4 MiB. */
  readonly chunkSize?: number
  /** Chunks read ahead of the oldest one still hashing; default 3. */
  readonly inFlight?: number
  /** Check only these pieces (e.g. a resume record's `toCheck`); the others are skipped and come back unset. */
  readonly only?: Bitfield
}

/**
 * Checks existing data against the piece hashes (SHA-1), or for a v2-only
 * torrent against its merkle roots and piece layers (SHA-256, on the same workers).
 *
 * @param onProgress called with (pieces done, pieceCount), `done` never decreasing, last call (total, total)
 * @param signal aborting rejects with the signal's reason
 * @returns the verified pieces
 *
 * @example
 * ```ts
 * const storage = await openFileStorage(folder, metainfo.files, { readonly: true })
 * const have = await checkExisting(storage, metainfo, hasher, (done, total) => console.log(done, '/', total))
 * picker.setHave(have)
 * ```
 */
export async function checkExisting(
  storage: Storage,
  metainfo: CheckedTorrent,
  hasher: Hasher,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
  opts: CheckOptions = {},
): Promise<Bitfield> {
  const { pieceCount, pieceLength, length, pieceHashes } = metainfo
  const have = new Bitfield(pieceCount)
  const v2 = metainfo.version === 'v2' ? v2Targets(metainfo) : null
  if (v2 === null && pieceHashes.length !== pieceCount * 20) throw new Error(`piece hashes: ${pieceHashes.length} bytes for ${pieceCount} pieces`)
  signal?.throwIfAborted()
  const chunkSize = Math.max(1, opts.chunkSize ?? 4 << 20)
  const inFlight = Math.max(1, opts.inFlight ?? 3)
  const pieceSize = (p: number) => (p === pieceCount - 1 ? length - pieceLength * (pieceCount - 1) : pieceLength)

  // buffers from read() may be moved to the workers only when the storage promises they are the caller's alone
  const ownsReads = (storage as { readonly freshReads?: boolean }).freshReads === true
  const absent = await absentPieces(storage, metainfo)
  // fast path: storage that reads into our buffers + a hasher that takes whole chunks
  const readInto = (storage as { readInto?: (offset: number, target: Uint8Array) => Promise<Uint8Array> }).readInto?.bind(storage)
  const recycling = readInto !== undefined && isBatchHasher(hasher)
  const pool: Uint8Array[] = []
  if (opts.only !== undefined) {
    if (opts.only.length !== pieceCount) throw new RangeError(`only: bitfield of ${opts.only.length} pieces, torrent has ${pieceCount}`)
    for (let p = 0; p < pieceCount; p++) if (!opts.only.get(p)) absent[p] = 1
  }
  let done = 0
  const progress = (n: number) => {
    done += n
    onProgress?.(done, pieceCount)
  }
  onProgress?.(0, pieceCount)

  // hashing batches in order; awaiting the oldest keeps progress monotone
  const window: Array<Promise<{ first: number; ok: boolean[] }>> = []
  const settle = async () => {
    const { first, ok } = await window.shift()!
    ok.forEach((v, i) => v && have.set(first + i))
    progress(ok.length)
  }

  try {
    let p = 0
    while (p < pieceCount) {
      signal?.throwIfAborted()
      if (absent[p] === 1) {
        // skipped pieces count as done once everything before them has settled
        while (window.length > 0) await settle()
        let n = 0
        while (p < pieceCount && absent[p] === 1) p++, n++
        progress(n)
        continue
      }
      // whole pieces up to chunkSize (at least one piece)
      const first = p
      let bytes = 0
      while (p < pieceCount && absent[p] !== 1 && (p === first || bytes + pieceSize(p) <= chunkSize)) bytes += pieceSize(p++)
      const start = first * pieceLength
      const lengths: number[] = []
      for (let q = first; q < p; q++) lengths.push(pieceSize(q))
      const expected = pieceHashes.subarray(first * 20, p * 20)
      let batch: Promise<boolean[]>
      if (v2 !== null) {
        const spare = pool[pool.length - 1]?.length === bytes ? pool.pop() : undefined
        const buf = readInto !== undefined ? await readInto(start, spare ?? new Uint8Array(bytes)) : await storage.read(start, bytes)
        batch = merkleBatch(hasher, buf.subarray(0, bytes), first, lengths, v2, readInto !== undefined || ownsReads, (b) => { if (readInto !== undefined && b.length === bytes) pool.push(b) })
      } else if (recycling && bytes <= chunkSize) {
        // read into a recycled buffer, move it to a worker whole, get it back afterwards
        const buf = pool.pop() ?? new Uint8Array(chunkSize)
        await readInto!(start, buf.subarray(0, bytes))
        batch = hasher.digestPieces(buf, lengths, { transfer: true, giveBack: (b) => pool.push(b) }).then((ds) =>
          ds.map((d, i) => sameBytes(d, expected.subarray(20 * i, 20 * i + 20))),
        )
      } else {
        const parts: Uint8Array[] = []
        for (let off = 0; off < bytes; off += chunkSize) parts.push(await storage.read(start + off, Math.min(chunkSize, bytes - off)))
        batch = hashBatch(hasher, parts, ownsReads, chunkSize, lengths, expected)
      }
      window.push(batch.then((ok) => ({ first, ok })))
      while (window.length >= inFlight) await settle()
      await yieldToLoop()
    }
    while (window.length > 0) await settle()
  } catch (err) {
    // let in-flight hashing finish quietly before reporting
    await Promise.allSettled(window)
    throw err
  }
  return have
}

/** Roots of the v2 pieces [first, first + lengths.length) read as `data`, compared to their targets. */
async function merkleBatch(hasher: Hasher, data: Uint8Array, first: number, lengths: readonly number[], v2: (p: number) => V2PieceTarget, transfer: boolean, giveBack: (b: Uint8Array) => void): Promise<boolean[]> {
  const targets = lengths.map((_, i) => v2(first + i))
  const pieces = targets.map((t, i) => ({ length: lengths[i]!, bytes: t.bytes, width: t.width }))
  const roots = isMerkleHasher(hasher)
    ? await hasher.merklePieces(data, pieces, transfer ? { transfer, giveBack } : {})
    : pieces.map((m, i) => merkleOfPiece(data.subarray(lengths.slice(0, i).reduce((a, b) => a + b, 0)), m.bytes, m.width))
  return roots.map((r, i) => targets[i]!.expected !== null && sameBytes(r, targets[i]!.expected!))
}

/** A hasher that computes v2 roots of many pieces in one message (see hasher.ts). */
interface MerkleHasher extends Hasher {
  merklePieces(data: Uint8Array, pieces: ReadonlyArray<{ length: number; bytes: number; width: number }>, opts?: { transfer?: boolean; giveBack?: (chunk: Uint8Array) => void }): Promise<Uint8Array[]>
}

const isMerkleHasher = (h: Hasher): h is MerkleHasher => typeof (h as Partial<MerkleHasher>).merklePieces === 'function'

/** A hasher that can take a whole read chunk in one message (see hasher.ts). */
interface BatchHasher extends Hasher {
  digestPieces(data: Uint8Array, lengths: readonly number[], opts?: { transfer?: boolean; giveBack?: (chunk: Uint8Array) => void }): Promise<Uint8Array[]>
  verify(chunks: readonly Uint8Array[], expected: Uint8Array, opts?: { transfer?: boolean }): Promise<boolean>
}

const isBatchHasher = (h: Hasher): h is BatchHasher => typeof (h as Partial<BatchHasher>).digestPieces === 'function'

/**
 * Hashes consecutive pieces read as `parts` (chunks of `partSize` bytes); when
 * the parts are ours alone (`transfer`) they are moved to the workers, not copied.
 */
async function hashBatch(hasher: Hasher, parts: Uint8Array[], transfer: boolean, partSize: number, lengths: number[], expected: Uint8Array): Promise<boolean[]> {
  const want = (i: number) => expected.subarray(20 * i, 20 * i + 20)
  if (isBatchHasher(hasher)) {
    if (parts.length === 1) {
      const digests = await hasher.digestPieces(parts[0]!, lengths, { transfer })
      return digests.map((d, i) => sameBytes(d, want(i)))
    }
    // a piece longer than one read: all its parts at once
    if (lengths.length === 1) return [await hasher.verify(parts, want(0), { transfer })]
  }
  const out: Promise<boolean>[] = []
  for (let i = 0, rel = 0; i < lengths.length; rel += lengths[i]!, i++) out.push(hasher.verify(slice(parts, partSize, rel, lengths[i]!), want(i)))
  return Promise.all(out)
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Views of [from, from+len) over consecutive parts of `partSize` bytes each. */
function slice(parts: readonly Uint8Array[], partSize: number, from: number, len: number): Uint8Array[] {
  const out: Uint8Array[] = []
  let pos = from
  const end = from + len
  while (pos < end) {
    const i = Math.floor(pos / partSize)
    const inPart = pos - i * partSize
    const n = Math.min(end - pos, partSize - inPart)
    out.push(parts[i]!.subarray(inPart, inPart + n))
    pos += n
  }
  return out
}

/** 1 for each piece overlapping bytes of a non-pad file that is absent or too short (skipped: cannot be complete). */
async function absentPieces(storage: Storage, m: CheckedTorrent): Promise<Uint8Array> {
  const flags = new Uint8Array(m.pieceCount)
  const stats = await storage.stat()
  m.files.forEach((f, i) => {
    if (f.pad || f.length === 0) return
    const size = stats[i]?.size ?? 0
    if (size >= f.length) return
    const from = Math.floor((f.offset + size) / m.pieceLength)
    const to = Math.floor((f.offset + f.length - 1) / m.pieceLength)
    flags.fill(1, from, to + 1)
  })
  return flags
}
