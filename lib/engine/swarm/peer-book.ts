/**
 * The addresses a torrent (or a magnet's metadata phase) may dial: learnt
 * from any source, filtered (our own address, banned peers), capped, and
 * redialled with a back-off after each failed or closed connection.
 *
 * Pure bookkeeping with an injected clock: the owner dials what
 * {@link PeerBook.due} yields and reports back with `succeeded` / `closed`.
 *
 * @internal
 * @module
 */
import { formatAddress, parseAddress } from './address.ts'
import type { PeerSource } from './peer-sources.ts'

/** Addresses remembered per book: trackers and peers cannot make it grow without bound. */
export const MAX_KNOWN_PEERS = 2000

/** Failed connections after which an address is forgotten (manual peers never are). */
export const MAX_FAILURES = 6

/**
 * Wait before redialling an address after its `failures`-th failed or closed
 * connection: 1 s, doubling, capped at a minute. The first retries are quick
 * because a peer that refused us is often a seed still starting (or a peer
 * that closed a duplicate connection); the cap is libtorrent's reconnect
 * floor (`min_reconnect_time`, 60 s), so a dead address costs one dial a
 * minute at most until it is forgotten after {@link MAX_FAILURES}.
 *
 * @example
 * ```ts
 * redialDelay(1) // 1000
 * redialDelay(9) // 60000
 * ```
 */
export const redialDelay = (failures: number): number => Math.min(60_000, 1000 * 2 ** Math.min(Math.max(failures, 1) - 1, 6))

/** One known address. */
export interface BookEntry {
  /** `host:port` (IPv6 hosts in brackets are stored bare: the key is `host:port` as parsed). */
  readonly key: string
  readonly host: string
  readonly port: number
  readonly source: PeerSource
  /** Failed or closed connections since the last handshake. */
  readonly failures: number
  /** Not dialled before this time (ms). */
  readonly nextTry: number
  /** A connection to it is open (or being opened). */
  readonly connected: boolean
  /** Its last connection said it has every piece (not dialled while we have them all too). */
  readonly seed: boolean
}

type Entry = { -readonly [K in keyof BookEntry]: BookEntry[K] }

/** Construction options of {@link PeerBook}. */
export interface PeerBookOptions {
  /** Our own listen address: never recorded. */
  readonly isSelf?: (host: string, port: number) => boolean
  /** Most addresses kept; default {@link MAX_KNOWN_PEERS}. */
  readonly max?: number
  /** The clock (ms); default Date.now. */
  readonly now?: () => number
}

/**
 * A torrent's address book.
 *
 * @example
 * ```ts
 * const book = new PeerBook({ isSelf: (h, p) => h === '127.0.0.1' && p === 6881 })
 * book.add('10.0.0.2:51413', 'tracker')
 * for (const e of book.due(() => open < 50)) dial(e.host, e.port)
 * book.closed('10.0.0.2:51413')   // retried in a second, then less often
 * ```
 */
export class PeerBook {
  private readonly known = new Map<string, Entry>()
  private readonly bans = new Set<string>()
  private readonly now: () => number
  private readonly max: number

  constructor(private readonly opts: PeerBookOptions = {}) {
    this.now = opts.now ?? Date.now
    this.max = opts.max ?? MAX_KNOWN_PEERS
  }

  /**
   * Learn of `host:port`. Returns the key it is known by, or null when it is
   * refused (malformed, ourselves, banned, the book full). Hearing of a known
   * address again (a fresh announce) allows a prompt retry.
   */
  add(addr: string, source: PeerSource): string | null {
    const a = parseAddress(addr)
    if (a === null || this.opts.isSelf?.(a.host, a.port) === true) return null
    const key = formatAddress(a.host, a.port)
    if (this.bans.has(key)) return null
    const k = this.known.get(key)
    if (k !== undefined) {
      if (!k.connected) k.nextTry = Math.min(k.nextTry, this.now())
      return key
    }
    if (this.known.size >= this.max) return null
    this.known.set(key, { key, host: a.host, port: a.port, source, failures: 0, nextTry: 0, connected: false, seed: false })
    return key
  }

  /**
   * Addresses due for a dial, in the order learnt, while `room()` says one
   * more connection may open; with `noSeeds` (we are a seed: two seeds have
   * nothing to trade) not those whose last connection was a seed's. Each one
   * yielded counts as connected.
   */
  *due(room: () => boolean = () => true, noSeeds = false): Generator<BookEntry> {
    const now = this.now()
    for (const k of this.known.values()) {
      if (!room()) return
      if (!this.isDue(k, now, noSeeds)) continue
      k.connected = true
      yield k
    }
  }

  /** Whether {@link PeerBook.due} would yield an address now (nothing is marked). */
  hasDue(noSeeds = false): boolean {
    const now = this.now()
    for (const k of this.known.values()) if (this.isDue(k, now, noSeeds)) return true
    return false
  }

  private isDue(k: Entry, now: number, noSeeds: boolean): boolean {
    return !k.connected && k.nextTry <= now && !this.bans.has(k.key) && !(noSeeds && k.seed)
  }

  /** A connection to `key` is open that the book did not yield (handed over from a magnet's metadata phase): not due until it closes. */
  claim(key: string): void {
    const k = this.known.get(key)
    if (k !== undefined) k.connected = true
  }

  /** The connection to `key` completed its handshake: its failures are forgiven. */
  succeeded(key: string): void {
    const k = this.known.get(key)
    if (k !== undefined) k.failures = 0
  }

  /**
   * The connection to `key` failed or closed: redial after {@link redialDelay}, or forget it;
   * with `atOnce` (it is to be retried with another handshake) it is due now and no failure counts.
   * `seed`: whether the peer of a handshaken connection had every piece (see
   * {@link PeerBook.due}); left as it was when not given (no handshake: nothing learnt).
   */
  closed(key: string, atOnce = false, seed?: boolean): void {
    const k = this.known.get(key)
    if (k === undefined) return
    k.connected = false
    if (seed !== undefined) k.seed = seed
    if (atOnce) {
      k.nextTry = this.now()
      return
    }
    k.failures++
    k.nextTry = this.now() + redialDelay(k.failures)
    if (k.failures > MAX_FAILURES && k.source !== 'manual') this.known.delete(key)
  }

  /** Forget `key` (it may be learnt again). */
  forget(key: string): void {
    this.known.delete(key)
  }

  /** Never record or dial `key` (an address or a peer id) again. */
  ban(key: string): void {
    this.bans.add(key)
    this.known.delete(key)
  }

  isBanned(key: string): boolean {
    return this.bans.has(key)
  }

  /** Banned addresses and peer ids. */
  banned(): string[] {
    return [...this.bans]
  }

  get(key: string): BookEntry | undefined {
    return this.known.get(key)
  }

  /** Every known address, in the order learnt. */
  entries(): IterableIterator<BookEntry> {
    return this.known.values()
  }

  get size(): number {
    return this.known.size
  }
}
