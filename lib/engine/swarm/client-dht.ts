/**
 * The client's DHT life cycle (BEP 5): one node for all torrents, started
 * with the engine, its routing table loaded from and saved to a state file,
 * and per torrent an announce of our listen port plus repeated lookups while
 * the torrent still wants peers. Private torrents (BEP 27) never touch it.
 *
 * @module
 */
import { join } from 'node:path'
import type { Dht } from './dht.ts'

/**
 * DHT settings of `ClientOptions.dht` when given as an object.
 *
 * @example
 * ```ts
 * const dht: DhtSettings = { bootstrap: ['127.0.0.1:20000'], host: '127.0.0.1', stateFile: 'state/dht.json' }
 * const engine = torrentClient({ dht })
 * ```
 */
export interface DhtSettings {
  /** "host:port" bootstrap nodes; default the public routers (`router.bittorrent.com:6881` and others). */
  readonly bootstrap?: readonly string[]
  /** UDP port; default 0 (any free port). */
  readonly port?: number
  /** Address to bind (and announce for ourselves); default the client's `host`, else all interfaces. */
  readonly host?: string
  /** Routing table file; default `<downloadFolder or cwd>/.torrent-patron/dht.json`. */
  readonly stateFile?: string
}

/**
 * `ClientOptions.dht`: on/off, or on with settings.
 *
 * @example
 * ```ts
 * const off: DhtOption = false
 * const local: DhtOption = { bootstrap: ['127.0.0.1:20000'] }
 * ```
 */
export type DhtOption = boolean | DhtSettings

/** Environment variable that turns the DHT's default off (`off`, `false`, `0` or `no`); an explicit option wins. */
export const DHT_ENV = 'TORRENT_PATRON_DHT'

/**
 * The settings to run the DHT with, or null for none: an explicit option
 * wins; without one the DHT is on unless {@link DHT_ENV} says off.
 *
 * @example
 * resolveDhtOption(undefined, {})                          // {}
 * resolveDhtOption(undefined, { TORRENT_PATRON_DHT: 'off' }) // null
 * resolveDhtOption(true, { TORRENT_PATRON_DHT: 'off' })      // {}
 */
export function resolveDhtOption (option: DhtOption | undefined, env: NodeJS.ProcessEnv = process.env): DhtSettings | null {
  if (option === false) return null
  if (option === true) return {}
  if (typeof option === 'object' && option !== null) return option
  const v = env[DHT_ENV]?.trim().toLowerCase()
  return v === 'off' || v === 'false' || v === '0' || v === 'no' ? null : {}
}

/** Delays (ms) between a torrent's lookups while it wants peers: quick at first, then every 5 minutes. */
const LOOKUP_DELAYS = [5_000, 10_000, 20_000, 40_000, 60_000, 120_000, 300_000]
/** Re-announce period (BEP 5 tokens last about 10 minutes; libtorrent re-announces every ~15). */
const ANNOUNCE_INTERVAL = 15 * 60_000
/** DHT operations in flight for the whole client; more wait a second (many torrents must not flood). */
const MAX_CONCURRENT = 8
/** Longest wait for the first bootstrap round before announcing anyway. */
const READY_WAIT = 30_000

/** Options of {@link ClientDht}. */
export interface ClientDhtOptions extends DhtSettings {
  /** Folder for the default state file. */
  readonly folder: string
  /** Our TCP listen port once known (null: no listener, so nothing to announce). */
  readonly listenPort: Promise<number | null>
}

/** What a torrent gives {@link ClientDht.track}. */
export interface DhtTorrentHooks {
  /** A peer for this torrent was found. */
  onPeer(host: string, port: number): void
  /** Whether more peers are wanted now (lookups pause while false; announces go on). */
  wanted(): boolean
}

/** One torrent's DHT activity. */
export interface DhtTorrentSession {
  /** Stop announcing and looking up. Idempotent. */
  close(): void
}

/**
 * One DHT node shared by the client's torrents.
 *
 * @example
 * const dht = new ClientDht({ bootstrap: ['127.0.0.1:6881'], host: '127.0.0.1', folder: '/tmp/dl', listenPort })
 * const s = dht.track(infoHash, false, { onPeer: (h, p) => torrent.addPeerAddress(`${h}:${p}`, 'dht'), wanted: () => true })
 * s?.close()
 * await dht.close() // saves the routing table, closes the socket
 */
export class ClientDht {
  /** Where the routing table is saved on close. */
  readonly stateFile: string
  private readonly node: Promise<Dht | null>
  private readonly torrents = new Map<string, DhtTorrentHooks>()
  private inFlight = 0
  private closed = false
  private udpPort: number | null = null
  private closing: Promise<void> | null = null

  constructor (private readonly opts: ClientDhtOptions) {
    const stateFile = this.stateFile = opts.stateFile ?? join(opts.folder, '.torrent-patron', 'dht.json')
    this.node = (async () => {
      // bittorrent-dht and its dependencies load only for a client that runs a DHT.
      const { createDht, loadDhtState, PUBLIC_BOOTSTRAP } = await import('./dht.ts')
      const state = await loadDhtState(stateFile)
      if (this.closed) return null
      const dht = createDht({
        bootstrap: opts.bootstrap ?? PUBLIC_BOOTSTRAP,
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        state
      })
      // Bad packets and timeouts from the open network are routine: never fatal.
      dht.on('warning', () => {})
      dht.on('peer', (peer, infoHash) => this.torrents.get(infoHash)?.onPeer(peer.host, peer.port))
      dht.ready.then(() => { this.udpPort = dht.port > 0 ? dht.port : null }, () => {})
      return dht
    })().catch(() => null)
  }

  /** Our DHT's UDP port once it listens, else null (for BEP 5 PORT messages to peers). */
  get port (): number | null { return this.udpPort }

  /** A peer told us its DHT port (BEP 5 PORT message): ping it into the routing table. */
  addNode (host: string, port: number): void {
    if (this.closed) return
    void this.node.then((dht) => dht?.addNode(host.replace(/^::ffff:/, ''), port))
  }

  /** The running node (null if it could not start or is closed). For diagnostics and tests. */
  get dht (): Promise<Dht | null> { return this.node }

  /**
   * Announce `infoHash` and look up its peers: at once, then while
   * `hooks.wanted()` after growing delays up to every 5 minutes; re-announce
   * every 15 minutes. Returns null for a private torrent: nothing is sent.
   */
  track (infoHash: string, isPrivate: boolean, hooks: DhtTorrentHooks): DhtTorrentSession | null {
    if (isPrivate || this.closed) return null
    const ih = infoHash.toLowerCase()
    this.torrents.set(ih, hooks)
    let stopped = false
    let lookups = 0
    let busy = false
    let lookupTimer: NodeJS.Timeout | null = null
    let announceTimer: NodeJS.Timeout | null = null
    const later = (ms: number, fn: () => void): NodeJS.Timeout => {
      const t = setTimeout(fn, ms)
      t.unref()
      return t
    }
    // One operation per torrent at a time, and at most MAX_CONCURRENT for the client.
    const run = async (op: (dht: Dht) => Promise<unknown>): Promise<void> => {
      const dht = await this.node
      if (dht === null || stopped || busy) return
      if (this.inFlight >= MAX_CONCURRENT) {
        await new Promise(resolve => later(1000, () => resolve(undefined)))
        return run(op)
      }
      busy = true
      this.inFlight++
      try {
        await op(dht)
      } catch {
        // A failed lookup or announce is retried on the next round.
      } finally {
        busy = false
        this.inFlight--
      }
    }
    const scheduleLookup = (): void => {
      if (stopped) return
      const delay = LOOKUP_DELAYS[Math.min(lookups, LOOKUP_DELAYS.length - 1)]!
      lookupTimer = later(delay, () => {
        lookups++
        const go = hooks.wanted() ? run(dht => dht.lookup(ih)) : Promise.resolve()
        void go.then(scheduleLookup)
      })
    }
    const announce = async (): Promise<void> => {
      const port = await this.opts.listenPort.catch(() => null)
      // An announce does a lookup first, so it also finds peers.
      await run(dht => port !== null ? dht.announce(ih, port) : dht.lookup(ih))
      if (!stopped) announceTimer = later(ANNOUNCE_INTERVAL, () => void announce())
    }
    void (async () => {
      const dht = await this.node
      if (dht === null || stopped) return
      await Promise.race([dht.ready.catch(() => {}), new Promise(resolve => later(READY_WAIT, () => resolve(undefined)))])
      if (stopped) return
      await announce()
      scheduleLookup()
    })()
    return {
      close: () => {
        if (stopped) return
        stopped = true
        if (lookupTimer !== null) clearTimeout(lookupTimer)
        if (announceTimer !== null) clearTimeout(announceTimer)
        if (this.torrents.get(ih) === hooks) this.torrents.delete(ih)
      }
    }
  }

  /** Save the routing table (when it holds any node) and close the socket. Idempotent. */
  close (): Promise<void> {
    if (this.closing !== null) return this.closing
    this.closed = true
    this.torrents.clear()
    this.closing = (async () => {
      const dht = await this.node
      if (dht === null) return
      // An empty table (e.g. no network) must not overwrite a good saved one.
      if (dht.nodeCount > 0) await dht.save(this.stateFile).catch(() => {})
      await dht.destroy()
    })()
    return this.closing
  }
}
