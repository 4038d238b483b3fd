/**
 * BEP 52 hash requests on one connection: answers the peer's requests (with
 * hashes, or a hash reject when we hold no such range) and sends ours,
 * matching each hashes or hash reject message to the request it answers.
 *
 * A malformed hash message is a protocol error: the wire emits
 * `'protocol-error'` with the reason and its owner closes the connection.
 * Hashes that answer nothing we asked (a late answer after our timeout) are
 * ignored. Any hash message on a connection that talks v1 (a v1 peer of a
 * hybrid) closes it, as libtorrent does. What the hashes prove is for the caller to check
 * (metainfo/merkle-proof.ts); it calls {@link HashExchange.fail} when they do not.
 *
 * @internal
 * @module
 */
import type { CappedWire } from './capped-wire.ts'
import { decodeHashMessage, encodeHashes, encodeHashReject, encodeHashRequest, sameRequest, HASH_REJECT, HASH_REQUEST, HASHES, type HashRequest } from './hash-messages.ts'
import { pushRaw } from './protocol-internals.ts'

/** Give up on an unanswered hash request after this long (ms). */
export const HASH_REQUEST_TIMEOUT = 20_000

/** Most of our hash requests one peer has unanswered at a time. */
export const MAX_HASH_REQUESTS = 4

/** What became of one of our requests. */
export type HashAnswer =
  | { readonly ok: true, readonly nodes: readonly Uint8Array[], readonly uncles: readonly Uint8Array[] }
  | { readonly ok: false, readonly reason: 'rejected' | 'timed out' | 'closed' }

/** Options of a {@link HashExchange}. */
export interface HashExchangeOptions {
  /** The nodes and uncles that answer a peer's request, or null to reject it; absent: every request is rejected. */
  readonly serve?: (r: HashRequest) => Uint8Array[] | null | Promise<Uint8Array[] | null>
  /** See {@link HASH_REQUEST_TIMEOUT}. */
  readonly timeoutMs?: number
  /**
   * The connection's handshake named a v2 info hash (a v2-only torrent): the
   * peer speaks v2 whatever its reserved bits say (libtorrent sets the v2 bit
   * only to offer a hybrid's v1 connection an upgrade).
   */
  readonly v2Swarm?: boolean
}

interface Pending {
  readonly request: HashRequest
  readonly resolve: (a: HashAnswer) => void
  readonly timer: NodeJS.Timeout
}

/**
 * The hash messages of one wire.
 *
 * @example
 * ```ts
 * const hashes = new HashExchange(wire, { serve: (r) => tree.answer(r) })
 * wire.on('protocol-error', (reason) => peer.close(reason))
 * const a = await hashes.request({ root, base: 2, index: 0, length: 8, proofLayers: 2 })
 * if (a.ok && proofProblem(r, a.nodes, a.uncles, length, trusted) !== null) hashes.fail('hashes that do not verify')
 * ```
 */
export class HashExchange {
  private readonly pending: Pending[] = []
  private closed = false

  constructor (readonly wire: CappedWire, private readonly opts: HashExchangeOptions = {}) {
    wire.on('unknownmessage', this.onUnknown)
    wire.once('close', () => this.close())
  }

  private readonly onUnknown = (body: Uint8Array): void => this.onMessage(body)

  /**
   * The connection speaks v2 (only such peers are asked, and only such peers
   * may send hash messages): a v2 swarm's connection, one its torrent made v2
   * ({@link CappedWire.speaksV2}), or on a bare wire the v2 bit of the peer.
   */
  get peerV2 (): boolean {
    return this.opts.v2Swarm === true || (this.wire.speaksV2 ?? this.wire.peerV2)
  }

  /** Our requests waiting for an answer. */
  get inflight (): number {
    return this.pending.length
  }

  /**
   * Ask the peer for a range; resolves with its hashes (unchecked), or why
   * there are none. Never rejects.
   */
  request (r: HashRequest): Promise<HashAnswer> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'closed' })
    return new Promise((resolve) => {
      // Not unreferenced: the request belongs to a live connection, whose close clears it.
      const timer = setTimeout(() => this.settle(p, { ok: false, reason: 'timed out' }), this.opts.timeoutMs ?? HASH_REQUEST_TIMEOUT)
      const p: Pending = { request: r, resolve, timer }
      this.pending.push(p)
      pushRaw(this.wire, encodeHashRequest(r))
    })
  }

  /** The peer broke the protocol (its hashes do not verify, ...): its owner closes it with `reason`. */
  fail (reason: string): void {
    if (this.closed) return
    this.close()
    this.wire.emit('protocol-error', reason)
  }

  /** Forget every pending request (each resolves as closed). */
  close (): void {
    if (this.closed) return
    this.closed = true
    // A wire handed to another owner (a magnet's torrent) gets that owner's exchange: this one lets go.
    this.wire.off('unknownmessage', this.onUnknown)
    for (const p of [...this.pending]) this.settle(p, { ok: false, reason: 'closed' })
  }

  private settle (p: Pending, a: HashAnswer): void {
    const at = this.pending.indexOf(p)
    if (at < 0) return
    this.pending.splice(at, 1)
    clearTimeout(p.timer)
    p.resolve(a)
  }

  private onMessage (body: Uint8Array): void {
    const id = body[0]
    if (this.closed || (id !== HASH_REQUEST && id !== HASHES && id !== HASH_REJECT)) return
    // libtorrent closes a v1 connection that sends a hash message: no merkle tree is shared on it.
    if (!this.peerV2) return this.fail('a BEP 52 hash message on a v1 connection')
    const m = decodeHashMessage(body)
    if (!m.ok) {
      this.fail(m.reason)
      return
    }
    const msg = m.value
    if (msg.kind === 'request') {
      const send = (answer: Uint8Array[] | null): void => {
        if (!this.closed) pushRaw(this.wire, answer === null ? encodeHashReject(msg.request) : encodeHashes(msg.request, answer))
      }
      const answer = this.opts.serve?.(msg.request) ?? null
      if (answer instanceof Promise) answer.then(send, () => send(null))
      else send(answer)
      return
    }
    const p = this.pending.find((q) => sameRequest(q.request, msg.request))
    if (p === undefined) return
    this.settle(p, msg.kind === 'reject' ? { ok: false, reason: 'rejected' } : { ok: true, nodes: msg.hashes, uncles: msg.uncles })
  }
}
