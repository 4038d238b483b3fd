/**
 * Fetches the piece layers a v2 torrent's metadata lacks (a magnet's info
 * dictionary carries none) with BEP 52 hash requests, from the peers whose
 * connection speaks v2 (see HashExchange.peerV2), and trusts nothing that does not hash up to the
 * file's `pieces root` from the info dictionary.
 *
 * Each file's layer is asked in ranges of at most 512 piece hashes, each
 * proved up to the root, so every range is checked on arrival. A peer whose
 * hashes fail their proof is reported bad (its owner closes and bans it); a
 * range a peer rejects or leaves unanswered goes to another peer, and back to
 * the same peers after a pause when none is left. {@link LayerFetcher.note}
 * says what the fetch waits for.
 *
 * @internal
 * @module
 */
import { Buffer } from 'node:buffer'
import type { Metainfo, V2File } from '../contracts.ts'
import { joinPieceLayer, pieceLayerRequests, proofProblem, treeHeight, type HashRequest } from '../metainfo/merkle-proof.ts'
import { rootOfPieceLayer, sameBytes } from '../metainfo/merkle.ts'
import { missingPieceLayer } from '../metainfo/v2-pieces.ts'
import { MAX_HASH_REQUESTS, type HashExchange } from '../wire/hash-exchange.ts'

/** After every peer rejected or ignored a range, ask them again after this long (ms). */
export const LAYER_RETRY_MS = 10_000

/** Options of a {@link LayerFetcher}. */
export interface LayerFetcherOptions {
  /** The torrent (v2 half present) whose missing piece layers to fetch. */
  readonly meta: Pick<Metainfo, 'pieceLength' | 'v2'>
  /** A peer sent hashes that do not verify: the caller closes and bans it. */
  readonly onBadPeer?: (exchange: HashExchange, reason: string) => void
  /** Something worth a status update happened. */
  readonly changed?: () => void
  /** See {@link LAYER_RETRY_MS}. */
  readonly retryMs?: number
  /** Clock (ms); default Date.now. */
  readonly now?: () => number
}

interface Range {
  readonly file: V2File
  readonly request: HashRequest
  nodes: readonly Uint8Array[] | null
  asking: HashExchange | null
  /** Peers that rejected or ignored it, and when the last one did. */
  readonly tried: Set<HashExchange>
  triedAt: number
}

/**
 * The piece layers of one torrent, from peers.
 *
 * @example
 * ```ts
 * const fetcher = new LayerFetcher({ meta, onBadPeer: (x, why) => closeAndBan(x.wire, why) })
 * for (const x of exchanges) fetcher.add(x)
 * const layers = await fetcher.layers // hex root -> piece layer, each checked against its root
 * ```
 */
export class LayerFetcher {
  /** Resolves with every missing layer (hex pieces root -> packed piece hashes); rejects only on {@link LayerFetcher.destroy}. */
  readonly layers: Promise<Map<string, Uint8Array>>
  private readonly ranges: Range[] = []
  private readonly sources = new Set<HashExchange>()
  private resolve!: (m: Map<string, Uint8Array>) => void
  private reject!: (e: Error) => void
  private done = false
  private lastProblem: string | null = null
  private readonly now: () => number

  constructor (private readonly opts: LayerFetcherOptions) {
    this.now = opts.now ?? Date.now
    this.layers = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.layers.catch(() => {})
    const { pieceLength, v2 } = opts.meta
    for (const file of v2?.files ?? []) {
      if (file.root === null || file.length <= pieceLength || v2?.pieceLayers.has(Buffer.from(file.root).toString('hex')) === true) continue
      for (const request of pieceLayerRequests(file.root, file.length, pieceLength)) {
        this.ranges.push({ file, request, nodes: null, asking: null, tried: new Set(), triedAt: 0 })
      }
    }
    queueMicrotask(() => this.finishIfDone())
  }

  /** A connected peer: used when it speaks v2. */
  add (exchange: HashExchange): void {
    if (this.done || this.sources.has(exchange)) return
    this.sources.add(exchange)
    this.pump()
  }

  /** The peer is gone. */
  remove (exchange: HashExchange): void {
    this.sources.delete(exchange)
    for (const r of this.ranges) r.tried.delete(exchange)
  }

  /** About once a second: ask again the ranges every peer turned down, once their pause is over. */
  tick (): void {
    if (this.done) return
    const retry = this.opts.retryMs ?? LAYER_RETRY_MS
    for (const r of this.ranges) if (r.nodes === null && r.tried.size > 0 && this.now() - r.triedAt >= retry && this.candidate(r) === null) r.tried.clear()
    this.pump()
  }

  /** What the fetch waits for, for the status line. */
  note (): string {
    const got = this.ranges.filter((r) => r.nodes !== null).length
    const v2Peers = [...this.sources].filter((x) => x.peerV2).length
    const head = `${got} of ${this.ranges.length} hash ranges`
    if (v2Peers === 0) return `${head}; no connected peer speaks v2`
    return this.lastProblem === null ? head : `${head}; ${this.lastProblem}`
  }

  /** Stop: pending answers are dropped and `layers` rejects if still pending. */
  destroy (reason = 'closed'): void {
    if (this.done) return
    this.done = true
    this.reject(new Error(reason))
  }

  private candidate (r: Range): HashExchange | null {
    let best: HashExchange | null = null
    for (const x of this.sources) {
      if (!x.peerV2 || r.tried.has(x) || x.inflight >= MAX_HASH_REQUESTS) continue
      if (best === null || x.inflight < best.inflight) best = x
    }
    return best
  }

  private pump (): void {
    if (this.done) return
    for (const r of this.ranges) {
      if (r.nodes !== null || r.asking !== null) continue
      const x = this.candidate(r)
      if (x === null) continue
      r.asking = x
      void x.request(r.request).then((a) => this.answered(r, x, a))
    }
  }

  private answered (r: Range, x: HashExchange, a: Awaited<ReturnType<HashExchange['request']>>): void {
    r.asking = null
    if (this.done) return
    if (a.ok) {
      const height = treeHeight(r.file.length)
      const root = r.file.root as Uint8Array
      const problem = proofProblem(r.request, a.nodes, a.uncles, r.file.length, (layer, index) => layer === height && index === 0 ? root : null)
      if (problem === null) {
        r.nodes = a.nodes
        this.opts.changed?.()
        this.finishIfDone()
      } else {
        const reason = `hashes for "${clip(r.file.path.join('/'))}" that do not verify against its pieces root (${problem})`
        this.lastProblem = `a peer sent ${reason}`
        this.sources.delete(x)
        // The owner bans the peer first (it knows it by its connection), then the connection closes.
        this.opts.onBadPeer?.(x, reason)
        x.fail(reason)
      }
    } else if (a.reason !== 'closed') {
      r.tried.add(x)
      r.triedAt = this.now()
      this.lastProblem = a.reason === 'rejected' ? 'a peer rejected a hash request' : 'a hash request went unanswered'
      this.opts.changed?.()
    }
    this.pump()
  }

  private finishIfDone (): void {
    if (this.done || this.ranges.some((r) => r.nodes === null)) return
    const out = new Map<string, Uint8Array>()
    const { pieceLength } = this.opts.meta
    for (const r of this.ranges) {
      const key = Buffer.from(r.file.root as Uint8Array).toString('hex')
      if (out.has(key)) continue
      const answers = this.ranges.filter((q) => q.file === r.file).map((q) => ({ request: q.request, nodes: q.nodes as Uint8Array[] }))
      const layer = joinPieceLayer(answers, r.file.length, pieceLength)
      // Each range was proved on its own; the whole layer must give the root as well.
      if (!sameBytes(rootOfPieceLayer(layer, pieceLength), r.file.root as Uint8Array)) {
        for (const q of this.ranges) if (q.file === r.file) q.nodes = null
        this.lastProblem = `the piece layer of "${clip(r.file.path.join('/'))}" does not hash to its pieces root`
        this.pump()
        return
      }
      out.set(key, layer)
    }
    this.done = true
    this.resolve(out)
  }
}

/** True when a v2-only torrent needs piece layers from peers before it can verify its pieces. */
export function needsPieceLayers (meta: Pick<Metainfo, 'version' | 'pieceLength' | 'v2'>): boolean {
  return meta.version === 'v2' && missingPieceLayer(meta) !== null
}

function clip (s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s
}
