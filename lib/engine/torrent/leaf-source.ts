/**
 * The true leaf hashes of a failed v2 piece, from connected v2 peers (BEP 52
 * hash requests), each answer proved up to the piece hash we trust before it
 * is believed. A peer whose answer fails its proof is a protocol offender
 * (its connection closes); one that rejects or does not answer is passed
 * over for the next. Null when no peer gave them.
 *
 * @internal
 * @module
 */
import type { Metainfo } from '../contracts.ts'
import { leafRequest, leavesProblem } from '../download/v2-blame.ts'
import { v2Targets } from '../metainfo/v2-pieces.ts'
import type { HashExchange } from '../wire/hash-exchange.ts'

/** Peers asked, one after the other, for the leaves of one piece. */
export const LEAF_SOURCES = 3

/**
 * The leaf source of a torrent, or null when it has no v2 half (or pieces of one leaf).
 *
 * @example
 * const leaves = leafSource(meta, () => conns.hashExchanges())
 * const truth = await leaves?.(17) // null: nobody could say
 */
export function leafSource (meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'v2'>, exchanges: () => Iterable<HashExchange>): ((piece: number) => Promise<Uint8Array[] | null>) | null {
  const targets = v2Targets(meta)
  if (targets === null) return null
  return async (piece) => {
    const target = targets(piece)
    const request = leafRequest(target.file, piece, meta.pieceLength)
    if (request === null || target.expected === null) return null
    const blocks = Math.ceil(target.bytes / (16 * 1024))
    let asked = 0
    for (const x of [...exchanges()]) {
      if (!x.peerV2 || asked >= LEAF_SOURCES) continue
      asked++
      const a = await x.request(request)
      if (!a.ok) continue
      const problem = leavesProblem(request, a.nodes, a.uncles, target.file, target.expected)
      if (problem === null) return a.nodes.slice(0, blocks)
      x.fail(`leaf hashes of piece ${piece} that do not verify against its piece hash (${problem})`)
    }
    return null
  }
}

/**
 * The block-level blame of a torrent with a v2 half for its smart ban (the
 * true leaves of a piece, and the bytes of it that are hashed); undefined for
 * v1 torrents. A hybrid asks its upgraded (v2) connections only.
 *
 * @example
 * new SmartBan({ ...options, v2: v2Blame(meta, () => conns.hashExchanges()) })
 */
export function v2Blame (meta: Pick<Metainfo, 'pieceLength' | 'pieceCount' | 'v2' | 'version'>, exchanges: () => Iterable<HashExchange>): { leaves(piece: number): Promise<Uint8Array[] | null>; bytes(piece: number): number } | undefined {
  const targets = meta.version === 'v2' || meta.version === 'hybrid' ? v2Targets(meta) : null
  const leaves = leafSource(meta, exchanges)
  if (targets === null || leaves === null) return undefined
  return { leaves, bytes: (piece) => targets(piece).bytes }
}
