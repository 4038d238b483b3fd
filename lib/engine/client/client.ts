/**
 * The engine: `torrentClient(options)` turns a stream of commands into a
 * stream of feedback, running real torrents in between.
 *
 * Each run of the returned stream is one engine instance (its own listener,
 * hasher pool and torrents); disposing the run closes all of it (stopped
 * announced, sockets, files, workers and timers released). The end of the
 * command stream does not stop running torrents; an error on it closes them
 * and is passed on.
 *
 * Choices worth knowing:
 * - Creation replies leave in request order: creations run one after another
 *   on a promise chain (parse, folder, file claims, storage), and the
 *   torrent's checking of existing data runs after its reply, reported as
 *   activity "checking".
 * - A relative save folder is resolved against the process's working
 *   directory; the folder is created if missing.
 * - Two running torrents never share a file: the client keeps the absolute
 *   path of every file each running torrent owns, and refuses a torrent that
 *   names a path already owned (TorrentStartFail saying which file and which
 *   torrent). Closing a torrent releases its paths.
 * - A magnet URI creates its torrent at once (activity "fetching metadata",
 *   see magnet-session.ts); the fetched metainfo is admitted later on the
 *   same creation chain (claims, storage). Torrents are keyed by v1 infohash
 *   whichever form started them (TorrentAlreadyDownloading across forms).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { access, constants } from 'node:fs/promises'
import path from 'node:path'
import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import {
  type CreateNewTorrent,
  type CreationReply,
  type EngineCommand,
  type EngineFeedback,
  type TorrentId,
  isCloseTorrent,
  isCreateNewTorrent,
  newTorrentCreated,
  torrentAlreadyDownloading,
  torrentStartFail,
  torrentStatusUpdate
} from '../../messages.ts'
import type { Metainfo } from '../contracts.ts'
import { parseMagnet, parseMetainfo } from '../metainfo/index.ts'
import { MagnetSession } from '../torrent/magnet-session.ts'
import { openFileStorage } from '../disk/file-storage.ts'
import { createHasher, type PoolHasher } from '../disk/hasher.ts'
import { makeFolder } from '../disk/make-folder.ts'
import { Torrent, type PeerInfo } from '../torrent/torrent.ts'
import { listen, obfuscatedHash, type Listener } from './listener.ts'
import { TokenBucket, limitToRate } from '../policy/throttle.ts'
import { admissionLimits, type AdmissionLimits, type AdmissionSettings } from '../policy/admission.ts'
import { ClientDht, resolveDhtOption, type DhtOption } from '../swarm/client-dht.ts'
import { selfAddressFilter } from '../swarm/self-address.ts'
import { ClientLsd, type LsdSettings } from '../swarm/client-lsd.ts'

/**
 * Options of {@link torrentClient}. All optional.
 *
 * @example
 * ```ts
 * const options: ClientOptions = {
 *   port: 6881,
 *   downloadFolder: 'downloads',
 *   uploadRateLimit: 1_000_000, // bytes per second, all torrents together
 *   dht: { bootstrap: ['127.0.0.1:20000'] } // a private DHT; `false` turns it off
 * }
 * const engine = torrentClient(options)
 * ```
 */
export interface ClientOptions {
  /** TCP port for incoming peers; 0 (default) picks a free one. */
  readonly port?: number
  /** Interface to listen on; default all. */
  readonly host?: string
  /** Save folder for commands that name none; default the working directory. */
  readonly downloadFolder?: string
  /** Peers (`host:port`) tried for every torrent, besides trackers. */
  readonly peers?: readonly string[]
  /** Milliseconds between status updates of each torrent; default 1000. */
  readonly statusInterval?: number
  /** Connections per torrent; default 50. */
  readonly maxConnsPerTorrent?: number
  /** Connections for the whole client; default 200. */
  readonly maxConns?: number
  /** Hashing worker threads for checking existing data; default min(2, cpus). 0 hashes on the main thread. */
  readonly hasherWorkers?: number
  /**
   * Verify downloaded pieces on the main thread while they arrive (default
   * true): a running SHA-1 per piece, no copies, ~0.45 CPU s per GiB. False
   * sends whole pieces to the worker pool instead (more RSS at high speed).
   */
  readonly hashInline?: boolean
  /** Regular upload slots per torrent (by rate, re-chosen every 10 s), plus one optimistic unchoke; default 4. */
  readonly uploadSlots?: number
  /** Tuning/tests: period of the full re-choice of upload slots (ms); default 10000. */
  readonly rechokeInterval?: number
  /** Tuning/tests: period of the optimistic unchoke's rotation (ms); default 30000. */
  readonly optimisticInterval?: number
  /** A peer that delivers nothing for this long loses its requests to others (ms); default 10000. */
  readonly requestTimeout?: number
  /**
   * Close a peer when neither side is interested and, since its handshake or the last time
   * either side was, it sent nothing useful (keep-alives do not count) for this long (ms);
   * default 300000 (Mainline's 5 minutes).
   */
  readonly peerIdleTimeout?: number
  /** Bad pieces (a shared piece counts half) before a peer is banned from a torrent; default 2. */
  readonly banStrikes?: number
  /** Upload cap for the whole client (all torrents together), bytes per second; default none. */
  readonly uploadRateLimit?: number
  /** Download cap for the whole client (all torrents together), bytes per second; default none. */
  readonly downloadRateLimit?: number
  /** Upload cap of each torrent, bytes per second; default none. */
  readonly torrentUploadRateLimit?: number
  /** Download cap of each torrent, bytes per second; default none. */
  readonly torrentDownloadRateLimit?: number
  /**
   * BEP 5 DHT, on by default: one node for the client, its routing table saved
   * on dispose to `stateFile` (default `<downloadFolder or cwd>/.torrent-patron/dht.json`)
   * and loaded at start; never used for private torrents. `false` opens no UDP
   * socket. Without this option, the environment variable
   * `TORRENT_PATRON_DHT=off` turns the default off (tests and CI).
   *
   * @example
   * torrentClient({ dht: { bootstrap: ['127.0.0.1:6881'], host: '127.0.0.1' } })
   */
  readonly dht?: DhtOption
  /**
   * BEP 14 local service discovery, off by default: `true` or `{ interface?, groupPort?, intervalMs? }`
   * announces non-private torrents by multicast on the LAN and hears local peers.
   */
  readonly lsd?: boolean | LsdSettings
  /**
   * Answer incoming peers' obfuscated handshakes (message stream encryption,
   * which aria2, libtorrent and Transmission try first); default true. The
   * payload stays plaintext whenever the peer allows it; RC4 only for peers
   * that require it. Outgoing connections are always plaintext. `false`
   * accepts plaintext handshakes only.
   */
  readonly encryption?: boolean
  /**
   * Limits on who may hold connection slots: connections in their handshake
   * (overall and per address), peers per address, the handshake and
   * first-message deadlines. See {@link AdmissionSettings} and docs/security.md.
   */
  readonly admission?: AdmissionSettings
  /** BEP 11 peer exchange on every connection of non-private torrents; default true. */
  readonly pex?: boolean
  /** Tuning/tests: milliseconds between PEX messages to each peer; default 60000 (BEP 11's minimum spacing). */
  readonly pexInterval?: number
  /** Diagnostics: called with each torrent created (tests use it to see peers' contributions). */
  readonly onTorrent?: (id: TorrentId, handle: TorrentHandle) => void
  /**
   * Called once when a run of the engine has let go of everything after it
   * was disposed or failed: torrents closed (stopped announced, last resume
   * records written), files, sockets, workers and timers released. Disposal
   * itself is synchronous (a `Disposable` of `@most/types`); wait for this before deleting
   * a save folder or exiting.
   */
  readonly onStopped?: () => void
}

/**
 * A read-only diagnostic view of a running torrent.
 *
 * @example
 * ```ts
 * const engine = torrentClient({
 *   onTorrent: (id, handle: TorrentHandle) => {
 *     setInterval(() => console.log(id, handle.infoHash, handle.peers().length, handle.banned()), 5000).unref()
 *   }
 * })
 * ```
 */
export interface TorrentHandle {
  /** Hex v1 info hash. */
  readonly infoHash: string
  /** Connected peers, with what each moved. */
  peers(): PeerInfo[]
  /** Accepted block bytes by peer address since the torrent started. */
  contributed(): Record<string, number>
  /** Addresses banned from this torrent for sending bad data. */
  banned(): string[]
  /**
   * How the torrent's start found existing data: `'resume'` (its resume
   * record, plus hashing `checked` pieces of files whose size or mtime
   * changed), `'check'` (no usable record: all pieces hashed) or `'empty'`.
   */
  restoredFrom(): {
    /** Where the verified pieces came from. */
    source: 'empty' | 'resume' | 'check'
    /** Pieces hashed at start. */
    checked: number
  }
}

import type { Engine } from '../../engine-contract.ts'
export type { Engine }

const PEER_ID_PREFIX = '-TP0100-'

const newPeerId = (): string => Buffer.concat([Buffer.from(PEER_ID_PREFIX), randomBytes(12)]).toString('hex')

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Where a torrent's data goes, and why it can only be read there (when it can). */
interface SaveFolder {
  readonly folder: string
  readonly readOnly?: string
}

/** One running instance of the engine (one run of its stream). */
class EngineInstance {
  /** Running torrents; a magnet's is a MagnetSession (metadata phase, then a Torrent). */
  private readonly torrents = new Map<TorrentId, Torrent | MagnetSession>()
  private readonly byInfoHash = new Map<string, TorrentId>()
  /** SHA-1("req2", infohash) of each running torrent, for peers' obfuscated (MSE) handshakes. */
  private readonly byObfuscatedHash = new Map<string, string>()
  /** Absolute file path -> id of the running torrent that owns it. */
  private readonly claims = new Map<string, TorrentId>()
  private readonly claimsOf = new Map<TorrentId, string[]>()
  private readonly peerId = newPeerId()
  private readonly hasher: PoolHasher
  private listener: Promise<Listener>
  private chain: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout
  private tickTimer: NodeJS.Timeout
  private connections = 0
  private disposed = false
  private ending = false
  private readonly closing = new Set<Promise<void>>()
  /** Client-wide rate limits, shared by every torrent's throttles. */
  private readonly upBucket: TokenBucket
  private readonly downBucket: TokenBucket
  /** The client's DHT node (null when turned off). */
  private readonly dht: ClientDht | null
  /** The client's LSD endpoint (null unless `lsd` is set). */
  private readonly lsd: ClientLsd | null
  /** Connection admission limits (listener and torrents). */
  private readonly admission: AdmissionLimits
  /** Our own listen address test, once the listener is up. */
  private isSelf: ((host: string, port: number) => boolean) | null = null

  constructor(
    private readonly options: ClientOptions,
    private readonly emit: (fb: EngineFeedback) => void,
    private readonly error: (e: Error) => void
  ) {
    this.admission = admissionLimits(options.admission)
    this.hasher = createHasher(options.hasherWorkers === undefined ? {} : { workers: options.hasherWorkers })
    this.upBucket = new TokenBucket(limitToRate(options.uploadRateLimit))
    this.downBucket = new TokenBucket(limitToRate(options.downloadRateLimit))
    this.listener = listen(
      options.port ?? 0,
      options.host,
      {
        adopt: (infoHash, socket, wire, peerId) => {
          const id = this.byInfoHash.get(infoHash)
          const t = id === undefined ? undefined : this.torrents.get(id)
          return t ? t.acceptIncoming(socket, wire, peerId) : false
        },
        resolve: (hash) => this.byObfuscatedHash.get(hash)
      },
      options.encryption !== false,
      this.admission
    )
    // A listener that fails (port taken) must not crash the process: torrents
    // then run without incoming connections.
    this.listener.then(
      (l) => {
        this.isSelf = selfAddressFilter(l.port, options.host)
      },
      () => {}
    )
    const dht = resolveDhtOption(options.dht)
    this.dht = dht === null ? null : new ClientDht({
      ...dht,
      host: dht.host ?? options.host,
      folder: path.resolve(options.downloadFolder ?? '.'),
      listenPort: this.listener.then((l) => l.port, () => null)
    })
    const lsd = options.lsd === true ? {} : typeof options.lsd === 'object' && options.lsd !== null ? options.lsd : null
    this.lsd = lsd === null ? null : new ClientLsd(lsd, this.listener.then((l) => l.port, () => null))
    this.timer = setInterval(() => this.statusAll(), options.statusInterval ?? 1000)
    this.tickTimer = setInterval(() => {
      for (const t of this.torrents.values()) t.tick()
    }, 1000)
  }

  command(cmd: EngineCommand): void {
    if (this.disposed || this.ending) return
    if (isCreateNewTorrent(cmd)) {
      this.chain = this.chain
        .then(() => this.create(cmd))
        .catch((e: unknown) => torrentStartFail(`internal error: ${describe(e)}`))
        .then((reply: CreationReply) => {
          if (!this.disposed) this.emit(reply)
        })
    } else if (isCloseTorrent(cmd)) {
      // After pending creations, so a close right after its create finds the torrent.
      this.chain = this.chain.then(() => {
        void this.closeTorrent(cmd.torrentid)
      })
    }
  }

  private async create(cmd: CreateNewTorrent): Promise<CreationReply> {
    if (this.disposed) return torrentStartFail('engine stopped')
    if (typeof cmd.rawmetainfo === 'string') return this.createMagnet(cmd, cmd.rawmetainfo)
    if (!(cmd.rawmetainfo instanceof Uint8Array)) return torrentStartFail('rawmetainfo must be the bytes of a .torrent file or a magnet URI')
    const parsed = await parseMetainfo(cmd.rawmetainfo)
    if (!parsed.ok) return torrentStartFail(`bad metainfo: ${parsed.reason}`)
    const meta = parsed.value
    const running = this.byInfoHash.get(meta.infoHash)
    if (running !== undefined) return torrentAlreadyDownloading(running)

    const place = await this.saveFolder(cmd)
    if ('type' in place) return place
    const { folder } = place
    const id = randomBytes(12).toString('hex')
    const torrent = await this.openTorrent(id, meta, place, [...(this.options.peers ?? []), ...(cmd.peers ?? [])])
    if (typeof torrent === 'string') return torrentStartFail(torrent)
    this.torrents.set(id, torrent)
    this.byInfoHash.set(meta.infoHash, id)
    this.byObfuscatedHash.set(obfuscatedHash(meta.infoHash), meta.infoHash)
    this.options.onTorrent?.(id, {
      infoHash: meta.infoHash,
      peers: () => torrent.peerInfo(),
      contributed: () => torrent.contributed(),
      banned: () => torrent.bannedPeers(),
      restoredFrom: () => torrent.restoredFrom()
    })
    // Start after the reply is out, so the reply precedes the first status.
    queueMicrotask(() => {
      if (this.torrents.get(id) === torrent) torrent.start().catch(() => {})
    })
    return newTorrentCreated(id, folder, { infohash: meta.infoHash, name: meta.name })
  }

  /**
   * A magnet: the torrent exists at once (fetching metadata); when the info
   * dictionary arrives it is admitted like a .torrent file's, on the creation chain.
   */
  private async createMagnet(cmd: CreateNewTorrent, uri: string): Promise<CreationReply> {
    const parsed = parseMagnet(uri)
    if (!parsed.ok) return torrentStartFail(`bad magnet link: ${parsed.reason}`)
    const magnet = parsed.value
    const running = this.byInfoHash.get(magnet.infoHash)
    if (running !== undefined) return torrentAlreadyDownloading(running)
    const place = await this.saveFolder(cmd)
    if ('type' in place) return place
    const { folder } = place
    if (this.disposed) return torrentStartFail('engine stopped')
    const listener = await this.listener.catch(() => null)
    const id = randomBytes(12).toString('hex')
    const manual = [...(this.options.peers ?? []), ...(cmd.peers ?? []), ...magnet.peers]
    const session: MagnetSession = new MagnetSession({
      magnet,
      peers: manual,
      peerId: this.peerId,
      port: listener?.port ?? 6881,
      maxConns: this.options.maxConnsPerTorrent ?? 50,
      canConnect: () => this.connections < (this.options.maxConns ?? 200),
      connectionsChanged: (d) => {
        this.connections += d
      },
      changed: () => this.status(id),
      joinDht: (infoHash, isPrivate, hooks) => this.dht?.track(infoHash, isPrivate, hooks) ?? null,
      isSelf: (host, port) => this.isSelf?.(host, port) ?? false,
      pex: this.options.pex ?? true,
      pexInterval: this.options.pexInterval,
      admit: (meta) =>
        this.enqueue(async () => {
          if (this.torrents.get(id) !== session || this.disposed) return 'torrent closed'
          // Its peers come from the session (every address learnt, without those that lied).
          const torrent = await this.openTorrent(id, meta, place, [])
          if (typeof torrent === 'string') return torrent
          // Closed while its storage opened: release what was just taken.
          if (this.torrents.get(id) !== session || this.disposed) {
            this.releaseClaims(id)
            await torrent.close()
            return 'torrent closed'
          }
          return torrent
        })
    })
    this.torrents.set(id, session)
    this.byInfoHash.set(magnet.infoHash, id)
    this.byObfuscatedHash.set(obfuscatedHash(magnet.infoHash), magnet.infoHash)
    this.options.onTorrent?.(id, {
      infoHash: magnet.infoHash,
      peers: () => session.inner?.peerInfo() ?? [],
      contributed: () => session.inner?.contributed() ?? {},
      banned: () => session.inner?.bannedPeers() ?? [],
      restoredFrom: () => session.inner?.restoredFrom() ?? { source: 'empty', checked: 0 }
    })
    queueMicrotask(() => {
      if (this.torrents.get(id) === session) session.start().catch(() => {})
    })
    return newTorrentCreated(id, folder, { infohash: magnet.infoHash, name: magnet.name ?? magnet.infoHash })
  }

  /** Run `task` on the creation chain (after every creation asked before it). */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const p = this.chain.then(task)
    this.chain = p.then(
      () => {},
      () => {}
    )
    return p
  }

  /**
   * The command's save folder, absolute and created; or the failure reply. A
   * folder that exists but cannot be written (a read-only file system, no
   * permission) is usable for seeding complete data: `readOnly` says why it
   * is read-only, and the torrent only reads it.
   */
  private async saveFolder(cmd: CreateNewTorrent): Promise<SaveFolder | CreationReply> {
    const folder = path.resolve(cmd.savefolder ?? this.options.downloadFolder ?? '.')
    try {
      await makeFolder(folder)
    } catch (e) {
      return torrentStartFail(`save folder ${folder} is not usable: ${describe(e)}`)
    }
    try {
      await access(folder, constants.W_OK)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EROFS') return { folder, readOnly: 'read-only file system, EROFS' }
      if (code === 'EACCES' || code === 'EPERM') return { folder, readOnly: `no permission to write, ${code}` }
      return torrentStartFail(`save folder ${folder} is not usable: ${describe(e)}`)
    }
    return { folder }
  }

  /**
   * File claims and storage for `meta` in `folder`, then a Torrent (not
   * started). Returns the reason when a file belongs to another running
   * torrent or the storage cannot open. The claims are registered under `id`.
   */
  private async openTorrent(id: TorrentId, meta: Metainfo, { folder, readOnly }: SaveFolder, peers: readonly string[]): Promise<Torrent | string> {
    const files = meta.files.filter((f) => !f.pad).map((f) => path.join(folder, ...f.path))
    for (const f of files) {
      const owner = this.claims.get(f)
      if (owner !== undefined) return `file ${f} belongs to another running torrent (${owner}); use another save folder`
    }
    let storage
    try {
      storage = await openFileStorage(folder, meta.files, { readonly: readOnly !== undefined })
    } catch (e) {
      return `cannot open storage in ${folder}: ${describe(e)}`
    }
    if (this.disposed) {
      await storage.close()
      return 'engine stopped'
    }
    const listener = await this.listener.catch(() => null)
    const torrent = new Torrent(
      id,
      meta,
      folder,
      storage,
      {
        peerId: this.peerId,
        port: listener?.port ?? 6881,
        hasher: this.hasher,
        canConnect: () => this.connections < (this.options.maxConns ?? 200),
        connectionsChanged: (d) => {
          this.connections += d
        },
        changed: () => this.status(id),
        maxConnsPerTorrent: this.options.maxConnsPerTorrent ?? 50,
        uploadSlots: this.options.uploadSlots ?? 4,
        rechokeInterval: this.options.rechokeInterval,
        optimisticInterval: this.options.optimisticInterval,
        requestTimeout: this.options.requestTimeout ?? 10000,
        peerIdleTimeout: this.options.peerIdleTimeout,
        banStrikes: this.options.banStrikes ?? 2,
        uploadRateLimit: this.options.torrentUploadRateLimit ?? 0,
        downloadRateLimit: this.options.torrentDownloadRateLimit ?? 0,
        clientUp: this.upBucket,
        clientDown: this.downBucket,
        hashInline: this.options.hashInline ?? true,
        joinDht: (infoHash, isPrivate, hooks) => this.dht?.track(infoHash, isPrivate, hooks) ?? null,
        ...(this.dht !== null
          ? { dhtPort: () => this.dht?.port ?? null, dhtNode: (host: string, port: number) => this.dht?.addNode(host, port) }
          : {}),
        joinLsd: (infoHash, isPrivate, onPeer) => this.lsd?.track(infoHash, isPrivate, onPeer) ?? null,
        isSelf: (host, port) => this.isSelf?.(host, port) ?? false,
        pex: this.options.pex ?? true,
        pexInterval: this.options.pexInterval,
        ...(readOnly !== undefined ? { readOnly } : {})
      },
      peers
    )
    for (const f of files) this.claims.set(f, id)
    this.claimsOf.set(id, files)
    return torrent
  }

  private releaseClaims(id: TorrentId): void {
    for (const f of this.claimsOf.get(id) ?? []) if (this.claims.get(f) === id) this.claims.delete(f)
    this.claimsOf.delete(id)
  }

  private closeTorrent(id: TorrentId): Promise<void> {
    const t = this.torrents.get(id)
    if (!t) return Promise.resolve()
    this.torrents.delete(id)
    this.byInfoHash.delete(t.infoHash)
    this.byObfuscatedHash.delete(obfuscatedHash(t.infoHash))
    this.releaseClaims(id)
    const p = t.close().then(
      () => {
        this.closing.delete(p)
        if (!this.disposed) this.emit(torrentStatusUpdate(id, t.stats()))
      },
      () => {
        this.closing.delete(p)
      }
    )
    this.closing.add(p)
    return p
  }

  private status(id: TorrentId): void {
    const t = this.torrents.get(id)
    if (t && !this.disposed) this.emit(torrentStatusUpdate(id, t.stats()))
  }

  private statusAll(): void {
    for (const id of this.torrents.keys()) this.status(id)
  }

  /**
   * The command stream ended. Torrents keep running (a `now(create)` command
   * stream ends at once, yet its download should go on); the engine stops
   * when its consumer disposes it.
   */
  commandsEnded(): void {}

  commandsFailed(e: Error): void {
    if (this.ending || this.disposed) return
    this.ending = true
    void Promise.all([...this.torrents.keys()].map((id) => this.closeTorrent(id)))
      .then(() => this.shutdown())
      .finally(() => {
        if (!this.disposed) this.error(e)
      })
  }

  private shutdownDone: Promise<void> | null = null
  private shutdown(): Promise<void> {
    if (this.shutdownDone) return this.shutdownDone
    clearInterval(this.timer)
    clearInterval(this.tickTimer)
    this.shutdownDone = (async () => {
      await Promise.allSettled([...this.closing])
      const l = await this.listener.catch(() => null)
      await Promise.allSettled([l?.close(), this.hasher.close(), this.dht?.close(), this.lsd?.close()])
    })()
    void this.shutdownDone.then(() => this.options.onStopped?.())
    return this.shutdownDone
  }

  /** The consumer left: close everything; nothing is emitted any more. */
  dispose(): Promise<void> {
    this.disposed = true
    for (const id of [...this.torrents.keys()]) void this.closeTorrent(id)
    return this.shutdown()
  }
}

class TorrentClientStream implements Stream<EngineFeedback> {
  constructor(
    private readonly commands: Stream<EngineCommand>,
    private readonly options: ClientOptions
  ) {}

  run(sink: Sink<EngineFeedback>, scheduler: Scheduler): Disposable {
    const engine = new EngineInstance(
      this.options,
      (fb) => sink.event(scheduler.currentTime(), fb),
      (e) => sink.error(scheduler.currentTime(), e)
    )
    const upstream = this.commands.run(
      {
        event: (_t, cmd) => engine.command(cmd),
        end: () => engine.commandsEnded(),
        error: (_t, e) => engine.commandsFailed(e)
      },
      scheduler
    )
    return {
      dispose() {
        upstream.dispose()
        void engine.dispose()
      }
    }
  }
}

/**
 * Make a BitTorrent engine.
 *
 * @example
 * ```ts
 * import { now, merge } from '@most/core'
 * import { newDefaultScheduler } from '@most/scheduler'
 * const engine = torrentClient({ downloadFolder: '/tmp/dl' })
 * const feedback = engine(now(createNewTorrent(torrentBytes)))
 * // or a magnet link: activity "fetching metadata" until peers gave the info dictionary
 * // engine(now(createNewTorrent('magnet:?xt=urn:btih:<40 hex>&x.pe=10.0.0.5:6881')))
 * feedback.run({ event: (_t, m) => console.log(m), end() {}, error: console.error }, newDefaultScheduler())
 * ```
 */
export const torrentClient =
  (options: ClientOptions = {}): Engine =>
  (commands) =>
    new TorrentClientStream(commands, options)

/** Re-exported for callers that want to type-check metainfo they hold. */
export type { Metainfo }
