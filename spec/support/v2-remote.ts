/**
 * A remote peer of a v2-only torrent for blame specs, on any connection (an
 * in-memory pair or a TCP socket): a real bittorrent-protocol Wire with the
 * fast extension and BEP 52 hash messages, honest or lying.
 */
import { Buffer } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import type { Duplex } from 'node:stream'
import Wire from 'bittorrent-protocol'
import type { Metainfo } from '../../lib/engine/contracts.ts'
import { hashServer } from '../../lib/engine/torrent/hash-server.ts'
import { HashExchange } from '../../lib/engine/wire/hash-exchange.ts'
import { decodeHashMessage } from '../../lib/engine/wire/hash-messages.ts'
import type { CappedWire } from '../../lib/engine/wire/capped-wire.ts'

export interface V2Remote {
  /** The piece whose block the liar corrupted (null before). */
  corrupted: number | null
  /** Blocks asked a second time and not answered yet (the honest remote holds them until release()). */
  readonly held: (() => void)[]
  /** The connection is over. */
  closed: boolean
  /** Its peer id (hex). */
  readonly peerId: string
  /** Hash requests it got for leaves (base layer 0): the block-level blame asking. */
  leafRequests: number
  release(): void
}

/**
 * A remote of a v2-only torrent with the fast extension: the honest one serves
 * every block, but holds a block asked again (a re-download) until released;
 * the liar serves one block per piece (rejecting the others, so each piece it
 * touches is shared) and corrupts the first piece-opening block it sends.
 * `hashes`: it answers hash requests (else it rejects them).
 */
export const v2Remote = (socket: Duplex, meta: Metainfo, data: Uint8Array, o: { liar: boolean; hashes: boolean }): V2Remote => {
  const wire = new Wire()
  socket.pipe(wire).pipe(socket)
  wire.on('error', () => {})
  const piece = (p: number) => Promise.resolve(new Uint8Array(data.subarray(p * meta.pieceLength, (p + 1) * meta.pieceLength)))
  // A connection of a v2-only torrent speaks v2 whatever the bits say.
  void new HashExchange(wire as unknown as CappedWire, { v2Swarm: true, ...(o.hashes ? { serve: hashServer(meta, piece)! } : {}) })
  wire.on('handshake', (infoHash: string) => {
    wire.handshake(infoHash, state.peerId, { fast: true })
    wire.haveAll()
  })
  wire.on('interested', () => wire.unchoke())
  const served = new Set<string>()
  const pieces = new Set<number>()
  let released = false
  const state: V2Remote = {
    corrupted: null,
    held: [],
    closed: false,
    peerId: randomBytes(20).toString('hex'),
    leafRequests: 0,
    release: () => {
      released = true
      for (const answer of state.held.splice(0)) answer()
    }
  }
  socket.once('close', () => { state.closed = true })
  wire.on('unknownmessage', (body: Uint8Array) => {
    const m = decodeHashMessage(body)
    if (m.ok && m.value.kind === 'request' && m.value.request.base === 0) state.leafRequests++
  })
  wire.on('request', (index: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) => {
    const block = Buffer.from(data.subarray(index * meta.pieceLength + offset, index * meta.pieceLength + offset + length))
    if (o.liar) {
      if (pieces.has(index)) return respond(new Error('one block per piece'))
      pieces.add(index)
      // A piece's first block is always file data (files start on piece boundaries; a pad block is never hashed).
      if (state.corrupted === null && offset === 0) {
        state.corrupted = index
        block[7] = block[7]! ^ 0xff
      }
      return respond(null, block)
    }
    const key = `${index}:${offset}`
    if (served.has(key) && !released) return void state.held.push(() => respond(null, block))
    served.add(key)
    respond(null, block)
  })
  return state
}

