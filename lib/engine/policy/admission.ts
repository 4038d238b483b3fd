/**
 * Connection admission: who may hold one of the scarce slots of a listener
 * (connections still in their handshake) and of a torrent (its peers), and
 * who gives up its slot when a newcomer arrives and all are taken. The best
 * clients do not refuse newcomers when full: a slot held by a peer that has
 * shown no use is worth less than a chance for the newcomer, so an attacker
 * who fills every slot with idle sockets cannot lock honest peers out.
 *
 * - Handshakes: at most `maxPending` at once, `maxPendingPerAddress` of them
 *   from one address. When full, a newcomer takes the slot of the oldest
 *   pending connection of the address holding the most slots, preferring one
 *   that has not sent a byte; each has `handshakeTimeout` to finish.
 * - Torrents: at most `maxConnsPerAddress` peers from one address. A full
 *   torrent admits a newcomer by evicting its least useful peer: one with no
 *   interest either way, preferring one that never said anything useful
 *   (bitfield, have, interest, a block), the oldest first. Peers with interest
 *   either way are never evicted for a newcomer: then the newcomer is refused.
 * - Silence: a handshaken peer must send its first message (any but a
 *   keep-alive) within `firstMessageTimeout`, or it is closed.
 *
 * Loopback peers (127.0.0.0/8, ::1) are processes of this machine, and every
 * local client shares one address: the per-address caps skip them unless
 * `capLoopback` is set. Everything else applies to them.
 *
 * Pure: no sockets, no timers; callers pass the clock.
 *
 * @module
 */

/**
 * `ClientOptions.admission`: limits on who may hold the engine's connection
 * slots (docs/security.md, Connection admission). Every field is optional;
 * the defaults are in the field descriptions.
 *
 * @example
 * ```ts
 * // one connection per address and torrent, as libtorrent does by default
 * const admission: AdmissionSettings = { maxConnsPerAddress: 1 }
 * const engine = torrentClient({ admission })
 * ```
 */
export interface AdmissionSettings {
  /** Connections in their handshake at once, over all addresses; default 256. */
  readonly maxPending?: number
  /** Connections in their handshake at once from one address; default 16. */
  readonly maxPendingPerAddress?: number
  /** Peers of one torrent from one address; default 4. */
  readonly maxConnsPerAddress?: number
  /** Time from accept to the peer's complete handshake (ms); default 10000. */
  readonly handshakeTimeout?: number
  /** Time from the handshake to the peer's first message, keep-alives aside (ms); default 10000. */
  readonly firstMessageTimeout?: number
  /** Apply the per-address caps to loopback addresses too; default false. */
  readonly capLoopback?: boolean
}

/** {@link AdmissionSettings} with every field decided. */
export type AdmissionLimits = Required<AdmissionSettings>

/**
 * Defaults. 256 handshakes bound the Diffie-Hellman work of MSE (about a
 * millisecond each); 16 per address leave room for a NAT's users. libtorrent
 * allows one connection per address and torrent by default; 4 admits a few
 * clients behind one NAT. 10 s for a handshake is libtorrent's
 * `handshake_timeout`; a client that connected sends its bitfield or extension
 * handshake at once, so 10 s for the first message is generous.
 */
export const defaultAdmissionLimits: AdmissionLimits = Object.freeze({
  maxPending: 256,
  maxPendingPerAddress: 16,
  maxConnsPerAddress: 4,
  handshakeTimeout: 10_000,
  firstMessageTimeout: 10_000,
  capLoopback: false
})

/**
 * The defaults with `options` laid over them (undefined fields keep the
 * default; counts are at least 1).
 *
 * @example
 * ```ts
 * const limits = admissionLimits({ maxConnsPerAddress: 1 })
 * ```
 */
export function admissionLimits(options: AdmissionSettings = {}): AdmissionLimits {
  const d = defaultAdmissionLimits
  const count = (v: number | undefined, dflt: number): number => Math.max(1, Math.floor(v ?? dflt))
  return {
    maxPending: count(options.maxPending, d.maxPending),
    maxPendingPerAddress: count(options.maxPendingPerAddress, d.maxPendingPerAddress),
    maxConnsPerAddress: count(options.maxConnsPerAddress, d.maxConnsPerAddress),
    handshakeTimeout: Math.max(1, options.handshakeTimeout ?? d.handshakeTimeout),
    firstMessageTimeout: Math.max(1, options.firstMessageTimeout ?? d.firstMessageTimeout),
    capLoopback: options.capLoopback ?? d.capLoopback
  }
}

/** True for 127.0.0.0/8 and ::1 (also IPv4-mapped). */
export function isLoopback(host: string): boolean {
  const h = host.startsWith('::ffff:') ? host.slice(7) : host
  return h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

const capped = (host: string, limits: AdmissionLimits): boolean => limits.capLoopback || !isLoopback(host)

interface PendingEntry {
  readonly host: string
  readonly since: number
  /** The peer sent at least one byte (its handshake, or an MSE step, is under way). */
  progressed: boolean
}

/**
 * The listener's connections still in their handshake, keyed by whatever the
 * caller uses (its sockets). Every method returns the keys the caller must
 * close.
 *
 * @example
 * ```ts
 * const pending = new PendingHandshakes<Socket>(defaultAdmissionLimits)
 * for (const s of pending.arrive(socket, socket.remoteAddress!, Date.now())) s.destroy()
 * socket.once('data', () => pending.progressed(socket))
 * // handshake read, or socket closed:
 * pending.settle(socket)
 * ```
 */
export class PendingHandshakes<K> {
  private readonly entries = new Map<K, PendingEntry>()
  private readonly perHost = new Map<string, number>()

  constructor(private readonly limits: AdmissionLimits) {}

  /** Connections in their handshake. */
  get size(): number {
    return this.entries.size
  }

  /** The connections in their handshake, oldest first. */
  keys(): IterableIterator<K> {
    return this.entries.keys()
  }

  /** Whether `key` is still in its handshake. */
  has(key: K): boolean {
    return this.entries.has(key)
  }

  /**
   * A connection from `host` was accepted: it is admitted, and the returned
   * keys (at most one, never `key`) lose their slot to it.
   */
  arrive(key: K, host: string, now: number): K[] {
    const evicted: K[] = []
    if (capped(host, this.limits) && (this.perHost.get(host) ?? 0) >= this.limits.maxPendingPerAddress) {
      const victim = this.victim(host)
      if (victim !== undefined) evicted.push(victim)
    } else if (this.entries.size >= this.limits.maxPending) {
      const victim = this.globalVictim()
      if (victim !== undefined) evicted.push(victim)
    }
    for (const k of evicted) this.settle(k)
    this.entries.set(key, { host, since: now, progressed: false })
    this.perHost.set(host, (this.perHost.get(host) ?? 0) + 1)
    return evicted
  }

  /** Bytes came from the connection: it is no longer idle. */
  progressed(key: K): void {
    const e = this.entries.get(key)
    if (e !== undefined) e.progressed = true
  }

  /** The connection finished its handshake or closed: its slot is free. */
  settle(key: K): void {
    const e = this.entries.get(key)
    if (e === undefined) return
    this.entries.delete(key)
    const n = (this.perHost.get(e.host) ?? 1) - 1
    if (n <= 0) this.perHost.delete(e.host)
    else this.perHost.set(e.host, n)
  }

  /** Connections past their handshake deadline at `now` (they stay until settled). */
  expired(now: number): K[] {
    const out: K[] = []
    for (const [k, e] of this.entries) if (now - e.since >= this.limits.handshakeTimeout) out.push(k)
    return out
  }

  /** When the earliest deadline falls, or undefined with nothing pending. */
  nextDeadline(): number | undefined {
    let first: number | undefined
    // Entries are in arrival order: the first is the oldest.
    for (const e of this.entries.values()) {
      first = e.since + this.limits.handshakeTimeout
      break
    }
    return first
  }

  /**
   * The global victim: a connection of the address holding the most slots;
   * among those an idle one; among those the oldest.
   */
  private globalVictim(): K | undefined {
    let best: K | undefined
    let bestScore = -1
    for (const [k, e] of this.entries) {
      const score = (this.perHost.get(e.host) ?? 0) * 2 + (e.progressed ? 0 : 1)
      if (score > bestScore) {
        best = k
        bestScore = score
      }
    }
    return best
  }

  /** The oldest idle connection of `host`, else its oldest. */
  private victim(host: string | undefined): K | undefined {
    let oldest: K | undefined
    for (const [k, e] of this.entries) {
      if (e.host !== host) continue
      if (!e.progressed) return k
      oldest ??= k
    }
    return oldest
  }
}

/** What {@link admitPeer} needs to know of one peer of a torrent. */
export interface AdmissionPeerView {
  /** The torrent's id for the peer (the caller closes it by this id). */
  readonly id: string
  /** Its IP address. */
  readonly host: string
  /** When it connected (ms). */
  readonly connectedAt: number
  /** We want something it has. */
  readonly amInterested: boolean
  /** It wants something we have. */
  readonly peerInterested: boolean
  /** It sent a bitfield, a have, a block, or declared interest at some time. */
  readonly saidSomethingUseful: boolean
}

/** The answer of {@link admitPeer}. */
export type AdmissionVerdict =
  | { readonly kind: 'admit' }
  | { readonly kind: 'evict'; readonly id: string }
  | { readonly kind: 'refuse'; readonly reason: string }

/**
 * Whether a newcomer from `host` may join a torrent whose peers are `peers`;
 * `full` says the torrent (or the client) has no free slot. `evict` admits it
 * in place of the peer named.
 *
 * @example
 * ```ts
 * const v = admitPeer(views, '203.0.113.7', peers.size >= cap, limits)
 * if (v.kind === 'evict') close(v.id)
 * if (v.kind !== 'refuse') admit()
 * ```
 */
export function admitPeer(peers: readonly AdmissionPeerView[], host: string, full: boolean, limits: AdmissionLimits): AdmissionVerdict {
  if (capped(host, limits)) {
    const same = peers.filter((p) => p.host === host)
    if (same.length >= limits.maxConnsPerAddress) {
      const victim = leastUseful(same)
      return victim === undefined
        ? { kind: 'refuse', reason: `${same.length} peers from ${host} already, all of them busy` }
        : { kind: 'evict', id: victim.id }
    }
  }
  if (!full) return { kind: 'admit' }
  const victim = leastUseful(peers)
  return victim === undefined ? { kind: 'refuse', reason: 'every slot is held by a peer with interest either way' } : { kind: 'evict', id: victim.id }
}

/**
 * The peer to give up first: no interest either way, then never useful
 * before once useful, then the oldest. Undefined when every peer has interest
 * either way.
 *
 * @example
 * ```ts
 * const v = leastUseful(views)?.id
 * ```
 */
export function leastUseful(peers: readonly AdmissionPeerView[]): AdmissionPeerView | undefined {
  let best: AdmissionPeerView | undefined
  for (const p of peers) {
    if (p.amInterested || p.peerInterested) continue
    if (best === undefined || rank(p) < rank(best) || (rank(p) === rank(best) && p.connectedAt < best.connectedAt)) best = p
  }
  return best
}

const rank = (p: AdmissionPeerView): number => (p.saidSomethingUseful ? 1 : 0)

/**
 * The first-message rule for a handshaken peer: `close` once
 * `firstMessageTimeout` passed since its handshake without any message but
 * keep-alives; `ok` once one came; else `wait`.
 *
 * @example
 * ```ts
 * if (firstMessageVerdict(peer.handshakeAt, peer.firstMessageAt, Date.now(), limits) === 'close') peer.close('silent')
 * ```
 */
export function firstMessageVerdict(handshakeAt: number, firstMessageAt: number | undefined, now: number, limits: AdmissionLimits): 'ok' | 'wait' | 'close' {
  if (firstMessageAt !== undefined) return 'ok'
  return now - handshakeAt >= limits.firstMessageTimeout ? 'close' : 'wait'
}
