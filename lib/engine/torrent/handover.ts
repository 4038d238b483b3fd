/**
 * A magnet's metadata-phase connections going over to the torrent proper,
 * live: no second dial, no second handshake (some clients, aria2c among
 * them, take a second to answer a new connection).
 *
 * What the wire already knows stays on it: the remote's handshake (peer id,
 * reserved bits), its extended handshake (the library keeps both), and
 * whether it chokes us or is interested. What it said about its pieces
 * cannot be read before the metadata gives the piece count, so an
 * {@link AvailabilityLog} keeps those messages from the phase's handshake on
 * (bitfield, have, Have All / Have None, allowed fast, suggest, the DHT
 * port) and replays
 * them, in order, as the same wire events once the torrent's {@link Peer}
 * listens: each is then checked and handled as if it had just arrived (a
 * bitfield of the wrong length closes that connection, a have past the last
 * piece too).
 *
 * Our own side: the phase offers the fast extension and sends Have None
 * when it is on (we have nothing before the metadata; libtorrent does the
 * same), so the torrent never sends a late bitfield on a handed-over wire:
 * it sends a have for each piece it holds (a resumed magnet) and the
 * allowed-fast pieces, with {@link greetHandedOver}.
 *
 * @internal
 * @module
 */
import type { PeerSocket } from '../wire/transport.ts'
import type { CappedWire, PeerSource } from '../wire/peer.ts'
import { allowFast, type FastGreeting } from '../wire/allowed-fast.ts'

/**
 * Have messages kept before the metadata is in: more than any torrent's
 * piece count can be (an info dictionary of at most 16 MiB lists at most
 * 838,860 SHA-1 pieces); past it the peer is closed.
 */
export const MAX_LOGGED_HAVES = 1 << 20

/** The events an {@link AvailabilityLog} records and replays. */
type LoggedWire = Pick<CappedWire, 'on' | 'off' | 'emit'>
type Listener = Parameters<CappedWire['on']>[1]

/** What the library keeps of a wire that the torrent's Peer learns from events. */
export interface WireState {
  /** The peer's extended handshake (empty until it arrives). */
  readonly peerExtendedHandshake: Record<string, unknown>
  readonly peerChoking: boolean
  readonly peerInterested: boolean
}

/** Allowed-fast and suggest indices kept (the Peer keeps 8 suggestions; BEP 6 suggests 10 allowed-fast pieces). */
const MAX_HINTS = 64

/**
 * A connection's availability messages, recorded from its handshake on
 * while its piece count is unknown: the latest bitfield, Have All or Have
 * None (each replaces what came before, as the Peer takes them), the haves
 * since, and the allowed-fast and suggested pieces.
 *
 * @example
 * ```ts
 * const log = new AvailabilityLog(wire, (why) => closeConn(c, why))
 * // ... the metadata arrives; the torrent's Peer now listens on `wire`:
 * log.replay(wire)
 * ```
 */
export class AvailabilityLog {
  private base: { readonly event: 'bitfield', readonly bytes: Uint8Array } | { readonly event: 'have-all' | 'have-none' } | null = null
  private haves = new Set<number>()
  private readonly fast = new Set<number>()
  private readonly suggested = new Set<number>()
  private port: number | null = null
  private readonly listeners: Array<[string, Listener]>
  private detached = false

  /** `overflow` runs (once) when the peer sends more distinct haves than {@link MAX_LOGGED_HAVES}. */
  constructor (private readonly wire: LoggedWire, overflow: (reason: string) => void) {
    const whole = (event: 'have-all' | 'have-none') => () => {
      this.base = { event }
      this.haves = new Set()
    }
    const hint = (set: Set<number>) => (index: number) => {
      if (set.size < MAX_HINTS) set.add(index)
    }
    this.listeners = [
      // The library's view of the bitfield is only valid during the event: keep a copy.
      ['bitfield', (bits: { buffer: Uint8Array }) => {
        this.base = { event: 'bitfield', bytes: Uint8Array.from(bits.buffer) }
        this.haves = new Set()
      }],
      ['have', (index: number) => {
        this.haves.add(index)
        if (this.haves.size <= MAX_LOGGED_HAVES) return
        this.detach()
        overflow('too many have messages before the metadata')
      }],
      ['have-all', whole('have-all')],
      ['have-none', whole('have-none')],
      ['allowed-fast', hint(this.fast)],
      ['suggest', hint(this.suggested)],
      // BEP 5: where its DHT node listens (it answers our DHT bit at once).
      ['port', (port: number) => { this.port = port }]
    ]
    for (const [event, fn] of this.listeners) wire.on(event, fn)
  }

  /** Messages kept (tests). */
  get size (): number {
    return (this.base === null ? 0 : 1) + this.haves.size + this.fast.size + this.suggested.size
  }

  /** Stop recording (idempotent). */
  detach (): void {
    if (this.detached) return
    this.detached = true
    for (const [event, fn] of this.listeners) this.wire.off(event, fn)
  }

  /**
   * Stop recording and emit what was recorded on the wire again for its new
   * listeners: the extended handshake, the pieces (base, then haves), the
   * hints, the DHT port, then unchoke and interest as the events that set
   * the library's state.
   */
  replay (state: WireState): void {
    const port = this.port
    this.detach()
    const w = this.wire
    if (Object.keys(state.peerExtendedHandshake).length > 0) w.emit('extended', 'handshake', state.peerExtendedHandshake)
    const base = this.base
    if (base?.event === 'bitfield') w.emit('bitfield', { buffer: base.bytes })
    else if (base !== null) w.emit(base.event)
    for (const i of this.haves) w.emit('have', i)
    for (const i of this.suggested) w.emit('suggest', i)
    for (const i of this.fast) w.emit('allowed-fast', i)
    if (port !== null) w.emit('port', port)
    if (!state.peerChoking) w.emit('unchoke')
    if (state.peerInterested) w.emit('interested')
  }
}

/**
 * Destroy a wire and its socket (a wire in a bad state must not stop the close).
 *
 * @example
 * ```ts
 * destroyConnection(wire, socket)
 * ```
 */
export const destroyConnection = (wire: { destroy(): unknown }, socket: { destroy(): unknown }): void => {
  try {
    wire.destroy()
  } catch {
    // nothing more to do for it
  }
  socket.destroy()
}

/** An open, handshaken connection of the metadata phase, for the torrent to adopt. */
export interface HandedOver {
  readonly socket: PeerSocket
  readonly wire: CappedWire
  /** The remote's peer id (hex), from its handshake. */
  readonly remoteId: string
  /** The dialled address, or the remote's ip:port for an incoming connection. */
  readonly address: string
  readonly source: PeerSource
  /** The dialled address (the peer book's key), or null for an incoming connection. */
  readonly dialled: string | null
  /** The info hash of the handshake: a v2-only torrent's connections speak v2, all others v1. */
  readonly infoHash: string
  /** The pieces the peer announced before the metadata. */
  readonly log: AvailabilityLog
  /** Close it (the torrent did not take it); `reason` is for the reader of a trace. */
  close(reason: string): void
}

/**
 * Our first messages to a handed-over peer, which had Have None from us (or
 * nothing, without the fast extension): a have for each piece we hold, then
 * with the fast extension its allowed-fast pieces that we have.
 *
 * @example
 * ```ts
 * greetHandedOver(peer, picker.haveBitfield(), meta.infoHashBytes)
 * ```
 */
export const greetHandedOver = (peer: FastGreeting & { readonly wire: { have(piece: number): void } }, have: { count(): number; readonly length: number; get(i: number): boolean }, infoHash: Uint8Array): void => {
  if (have.count() > 0) for (let i = 0; i < have.length; i++) if (have.get(i)) peer.wire.have(i)
  allowFast(peer, have, infoHash)
}
