/**
 * SHA-1 piece verification off the main thread, so hashing at hundreds of
 * MB/s never stalls the peer wire or status updates. A small pool of
 * worker_threads (spawned on first use, unref'd while idle so a forgotten
 * hasher never keeps the process alive); with `workers: 0` it hashes inline.
 *
 * The worker is a tiny CommonJS script evaluated from a string: it needs no
 * TypeScript loader and no separate file to locate at run time.
 *
 * @module
 */
import { Worker } from 'node:worker_threads'
import { createHash } from 'node:crypto'
import { availableParallelism } from 'node:os'
import type { Hasher, HashOptions } from '../contracts.ts'

/** Options of {@link createHasher}. */
export interface HasherOptions {
  /** Worker threads; default min(2, cores). 0 hashes on the calling thread. */
  readonly workers?: number
  /** Jobs sent ahead to each worker so it never idles between messages (default 2). */
  readonly perWorker?: number
}

/** Per-call options of {@link PoolHasher.verify} and {@link PoolHasher.digest} (declared with the contract). */
export type HashCallOptions = HashOptions

/** A {@link Hasher} that can also return digests. */
export interface PoolHasher extends Hasher {
  verify(chunks: readonly Uint8Array[], expected: Uint8Array, opts?: HashCallOptions): Promise<boolean>
  /** SHA-1 of the concatenation of `chunks` (20 bytes). */
  digest(chunks: readonly Uint8Array[], opts?: HashCallOptions): Promise<Uint8Array>
  /**
   * SHA-1 of consecutive pieces packed in `data` (piece i is the `lengths[i]`
   * bytes after piece i-1): one message for many pieces, so a checker can hand
   * over a whole read chunk (zero-copy with `transfer`).
   */
  digestPieces(data: Uint8Array, lengths: readonly number[], opts?: HashCallOptions): Promise<Uint8Array[]>
  /**
   * BEP 52 roots of consecutive pieces packed in `data` (32 bytes each): for
   * piece i, the first `bytes` of its `length` bytes over `width` leaves.
   */
  merklePieces(data: Uint8Array, pieces: readonly MerklePiece[], opts?: HashCallOptions): Promise<Uint8Array[]>
  /** True when the BEP 52 root of the first `bytes` of `data` over `width` leaves is `expected`. */
  verifyMerkle(data: Uint8Array, bytes: number, width: number, expected: Uint8Array, opts?: HashCallOptions): Promise<boolean>
  /** Number of worker threads this hasher may use. */
  readonly workers: number
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
${merkle.toString()}
parentPort.on('message', (job) => {
  let out
  if (job.merkle) {
    const data = job.chunks[0]
    out = new Uint8Array(32 * job.merkle.length)
    let at = 0
    job.merkle.forEach((m, i) => {
      out.set(merkle(data.subarray(at, at + m.bytes), m.width), 32 * i)
      at += m.length
    })
  } else if (job.lengths) {
    const data = job.chunks[0]
    out = new Uint8Array(20 * job.lengths.length)
    let at = 0
    job.lengths.forEach((n, i) => {
      out.set(createHash('sha1').update(data.subarray(at, at + n)).digest(), 20 * i)
      at += n
    })
  } else {
    const h = createHash('sha1')
    for (const c of job.chunks) h.update(c)
    out = new Uint8Array(20)
    out.set(h.digest())
  }
  // moved buffers go back, so the sender can reuse them instead of allocating
  const back = job.giveBack ? job.chunks : undefined
  parentPort.postMessage({ id: job.id, digest: out, back }, back ? [out.buffer, ...new Set(back.map((c) => c.buffer))] : [out.buffer])
})
`

/** One piece of a {@link PoolHasher.merklePieces} batch. */
export interface MerklePiece {
  /** Bytes the piece takes in the batch (pad included). */
  readonly length: number
  /** Bytes of it that are hashed (the file's part). */
  readonly bytes: number
  /** Leaves of the root (a power of two). */
  readonly width: number
}

/**
 * The BEP 52 root of a piece, for the calling thread and, as its source text
 * (a function declaration, so hoisted above WORKER_SOURCE), for the worker: SHA-256 of 16 KiB leaves, a missing
 * right sibling at each level replaced by that level's pad hash.
 */
function merkle(data: Uint8Array, width: number): Uint8Array {
  let layer: Uint8Array[] = []
  for (let at = 0; at < data.length; at += 16384) layer.push(createHash('sha256').update(data.subarray(at, Math.min(at + 16384, data.length))).digest())
  let pad: Uint8Array = new Uint8Array(32)
  for (let w = width; w > 1; w /= 2) {
    const next: Uint8Array[] = []
    for (let i = 0; i < layer.length; i += 2) next.push(createHash('sha256').update(layer[i]!).update(layer[i + 1] ?? pad).digest())
    pad = createHash('sha256').update(pad).update(pad).digest()
    layer = next
  }
  return layer[0] ?? pad
}

function merkleSync(data: Uint8Array, pieces: readonly MerklePiece[]): Uint8Array[] {
  let at = 0
  return pieces.map((m) => {
    const root = new Uint8Array(merkle(data.subarray(at, at + m.bytes), m.width))
    at += m.length
    return root
  })
}

/**
 * SHA-1 of the concatenation of `chunks`, on the calling thread.
 *
 * @example
 * ```ts
 * const d = await sha1([new TextEncoder().encode('abc')]) // a9993e36...
 * ```
 */
export async function sha1(chunks: readonly Uint8Array[]): Promise<Uint8Array> {
  return sha1Sync(chunks)
}

function piecesSync(data: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  let at = 0
  return lengths.map((n) => {
    const d = sha1Sync([data.subarray(at, at + n)])
    at += n
    return d
  })
}

function checkLengths(data: Uint8Array, lengths: readonly number[]): void {
  let sum = 0
  for (const n of lengths) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad piece length ${n}`)
    sum += n
  }
  if (sum > data.length) throw new RangeError(`pieces need ${sum} bytes, data has ${data.length}`)
}

/** Splits 20-byte digests packed end to end. */
function unpack(packed: Uint8Array, n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => packed.subarray(20 * i, 20 * i + 20))
}

function sha1Sync(chunks: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha1')
  for (const c of chunks) h.update(c)
  return new Uint8Array(h.digest())
}

/** Byte-wise equality of two digests. */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

interface Job {
  readonly id: number
  readonly chunks: readonly Uint8Array[]
  readonly lengths?: readonly number[]
  readonly merkle?: readonly MerklePiece[]
  readonly giveBack?: (chunk: Uint8Array) => void
  readonly transfer: boolean
  readonly resolve: (d: Uint8Array) => void
  readonly reject: (e: Error) => void
}

interface Slot {
  readonly worker: Worker
  readonly jobs: Map<number, Job>
}

/**
 * Creates a SHA-1 verifier backed by a pool of worker threads.
 *
 * @example
 * ```ts
 * const hasher = createHasher({ workers: 2 })
 * const ok = await hasher.verify([block0, block1], metainfo.pieceHashes.subarray(20 * i, 20 * i + 20))
 * await hasher.close()
 * ```
 */
export function createHasher(opts: HasherOptions = {}): PoolHasher {
  const workers = Math.max(0, Math.floor(opts.workers ?? Math.min(2, availableParallelism())))
  return workers === 0 ? new InlineHasher() : new WorkerPoolHasher(workers, Math.max(1, opts.perWorker ?? 2))
}

class InlineHasher implements PoolHasher {
  readonly workers = 0
  private closed = false

  async digest(chunks: readonly Uint8Array[]): Promise<Uint8Array> {
    if (this.closed) throw new Error('hasher is closed')
    return sha1Sync(chunks)
  }

  async verify(chunks: readonly Uint8Array[], expected: Uint8Array): Promise<boolean> {
    return sameDigest(await this.digest(chunks), expected)
  }

  async digestPieces(data: Uint8Array, lengths: readonly number[], opts: HashCallOptions = {}): Promise<Uint8Array[]> {
    if (this.closed) throw new Error('hasher is closed')
    checkLengths(data, lengths)
    const out = piecesSync(data, lengths)
    if (opts.transfer && opts.giveBack) opts.giveBack(data) // never moved: usable again right away
    return out
  }

  async merklePieces(data: Uint8Array, pieces: readonly MerklePiece[], opts: HashCallOptions = {}): Promise<Uint8Array[]> {
    if (this.closed) throw new Error('hasher is closed')
    checkLengths(data, pieces.map((m) => m.length))
    const out = merkleSync(data, pieces)
    if (opts.transfer && opts.giveBack) opts.giveBack(data)
    return out
  }

  async verifyMerkle(data: Uint8Array, bytes: number, width: number, expected: Uint8Array): Promise<boolean> {
    const [root] = await this.merklePieces(data, [{ length: data.length, bytes, width }])
    return sameDigest(root!, expected)
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

class WorkerPoolHasher implements PoolHasher {
  private readonly slots: Slot[] = []
  private readonly queue: Job[] = []
  private nextId = 1
  private closed = false

  constructor(
    readonly workers: number,
    private readonly perWorker: number,
  ) {}

  digest(chunks: readonly Uint8Array[], opts: HashCallOptions = {}): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('hasher is closed'))
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, chunks, transfer: opts.transfer === true, giveBack: opts.giveBack, resolve, reject })
      this.dispatch()
    })
  }

  async verify(chunks: readonly Uint8Array[], expected: Uint8Array, opts?: HashCallOptions): Promise<boolean> {
    return sameDigest(await this.digest(chunks, opts), expected)
  }

  async digestPieces(data: Uint8Array, lengths: readonly number[], opts: HashCallOptions = {}): Promise<Uint8Array[]> {
    if (this.closed) throw new Error('hasher is closed')
    checkLengths(data, lengths)
    const packed = await new Promise<Uint8Array>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, chunks: [data], lengths, transfer: opts.transfer === true, giveBack: opts.giveBack, resolve, reject })
      this.dispatch()
    })
    return unpack(packed, lengths.length)
  }

  async merklePieces(data: Uint8Array, pieces: readonly MerklePiece[], opts: HashCallOptions = {}): Promise<Uint8Array[]> {
    if (this.closed) throw new Error('hasher is closed')
    checkLengths(data, pieces.map((m) => m.length))
    for (const m of pieces) if (m.bytes > m.length || m.width < 1) throw new RangeError(`bad merkle piece ${JSON.stringify(m)}`)
    const packed = await new Promise<Uint8Array>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, chunks: [data], merkle: pieces, transfer: opts.transfer === true, giveBack: opts.giveBack, resolve, reject })
      this.dispatch()
    })
    return Array.from({ length: pieces.length }, (_, i) => packed.subarray(32 * i, 32 * i + 32))
  }

  async verifyMerkle(data: Uint8Array, bytes: number, width: number, expected: Uint8Array, opts?: HashCallOptions): Promise<boolean> {
    const [root] = await this.merklePieces(data, [{ length: data.length, bytes, width }], opts)
    return sameDigest(root!, expected)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const err = new Error('hasher is closed')
    for (const job of this.queue.splice(0)) job.reject(err)
    const slots = this.slots.splice(0)
    for (const s of slots) for (const job of s.jobs.values()) job.reject(err)
    await Promise.all(slots.map((s) => s.worker.terminate()))
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let best: Slot | undefined
      for (const s of this.slots) if (s.jobs.size < this.perWorker && (best === undefined || s.jobs.size < best.jobs.size)) best = s
      // spawn lazily rather than queue behind a busy worker
      if ((best === undefined || best.jobs.size > 0) && this.slots.length < this.workers) best = this.spawn()
      if (best === undefined) return
      const job = this.queue.shift()!
      this.send(best, job)
    }
  }

  private send(slot: Slot, job: Job): void {
    // Structured clone of a view copies its WHOLE underlying buffer: a 256 KiB
    // piece of a 4 MiB read (or of Node's 8 KiB Buffer pool) would cost the lot.
    // So views get one compact copy of their own, which is then moved, not cloned.
    const transfer: ArrayBuffer[] = []
    let moved = 0
    const chunks = job.chunks.map((c) => {
      const buf = c.buffer
      const owns = buf instanceof ArrayBuffer && c.byteOffset === 0 && c.byteLength === buf.byteLength
      if (owns && job.transfer) {
        if (!transfer.includes(buf)) transfer.push(buf)
        moved++
        return c
      }
      if (owns && c.byteLength <= 65536) return c // small: cloning is as cheap as copying
      const copy = c.slice()
      transfer.push(copy.buffer)
      return copy
    })
    if (slot.jobs.size === 0) slot.worker.ref()
    slot.jobs.set(job.id, job)
    try {
      // give back only when every chunk was moved (copies are ours to drop)
      const giveBack = job.giveBack !== undefined && moved === chunks.length
      slot.worker.postMessage({ id: job.id, chunks, lengths: job.lengths, merkle: job.merkle, giveBack }, transfer)
    } catch (err) {
      slot.jobs.delete(job.id)
      if (slot.jobs.size === 0) slot.worker.unref()
      job.reject(err instanceof Error ? err : new Error(String(err)))
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] })
    const slot: Slot = { worker, jobs: new Map() }
    worker.unref()
    worker.on('message', (msg: { id: number; digest: Uint8Array; back?: Uint8Array[] }) => {
      const job = slot.jobs.get(msg.id)
      if (job === undefined) return
      slot.jobs.delete(msg.id)
      if (slot.jobs.size === 0) worker.unref()
      if (msg.back !== undefined && job.giveBack !== undefined) for (const c of msg.back) job.giveBack(c)
      job.resolve(msg.digest)
      this.dispatch()
    })
    const fail = (err: Error) => {
      const i = this.slots.indexOf(slot)
      if (i < 0) return // already closed or handled
      this.slots.splice(i, 1)
      for (const job of slot.jobs.values()) job.reject(err)
      slot.jobs.clear()
      void worker.terminate()
      if (!this.closed) this.dispatch()
    }
    worker.on('error', (err) => fail(err))
    worker.on('exit', (code) => fail(new Error(`hash worker exited (${code})`)))
    this.slots.push(slot)
    return slot
  }
}
