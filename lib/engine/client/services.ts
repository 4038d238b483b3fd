/**
 * The client-wide parts that every torrent of one engine run shares: our
 * peer id, the listener, the hasher pool, the rate buckets, the DHT node, the
 * LSD endpoint and the connection count. From them (and the resolved
 * options) it builds what a torrent and a magnet's metadata phase are given:
 * both get the same closures, so a torrent and the phase before it count
 * connections, recognise our own address and join the DHT alike.
 *
 * @internal
 * @module
 */
import { randomBytes } from 'node:crypto'
import { createHasher, type PoolHasher } from '../disk/hasher.ts'
import { TokenBucket, limitToRate } from '../policy/throttle.ts'
import { ClientDht } from '../swarm/client-dht.ts'
import { ClientLsd } from '../swarm/client-lsd.ts'
import { selfAddressFilter } from '../swarm/self-address.ts'
import type { MagnetSessionOptions } from '../torrent/magnet-session.ts'
import type { TorrentContext } from '../torrent/context.ts'
import { listen, receiveHandshake, type IncomingRoute, type Listener } from './listener.ts'
import { openUtp, type UtpEndpoint } from '../wire/utp.ts'
import { MsePolicy } from '../wire/mse-policy.ts'
import { dialPeer } from '../wire/dial.ts'
import type { DialTransports, PeerSocket } from '../wire/transport.ts'
import { PendingHandshakes } from '../policy/admission.ts'
import type { ResolvedOptions } from './options.ts'
import { PortMapper, type WantedPort } from '../nat/port-mapper.ts'

/** Our peer id's prefix (Azureus style: client TP, version 0100). */
export const PEER_ID_PREFIX = '-TP0100-'

/** A fresh peer id, hex (the prefix and 12 random bytes). */
export const newPeerId = (): string => Buffer.concat([Buffer.from(PEER_ID_PREFIX), randomBytes(12)]).toString('hex')

/** Port announced while the listener is not up (it failed: no incoming connections then). */
const FALLBACK_PORT = 6881

/** What a torrent and a magnet's metadata phase are both given. */
export type SessionBase = Pick<
  TorrentContext & MagnetSessionOptions,
  'peerId' | 'port' | 'externalPort' | 'externalIp' | 'portMappingNote' | 'canConnect' | 'connectionsChanged' | 'changed' | 'joinDht' | 'isSelf' | 'pex' | 'pexInterval' | 'admission'
>

/**
 * The shared parts of one engine run.
 *
 * @example
 * ```ts
 * const services = new ClientServices(resolveOptions({}), route)
 * const ctx = services.torrentContext(await services.port(), () => status(id))
 * await services.close()
 * ```
 */
export class ClientServices {
  readonly peerId = newPeerId()
  readonly hasher: PoolHasher
  readonly listener: Promise<Listener>
  private readonly upBucket: TokenBucket
  private readonly downBucket: TokenBucket
  private readonly dht: ClientDht | null
  private readonly lsd: ClientLsd | null
  /** Our own listen address test, once the listener is up. */
  private isSelf: ((host: string, port: number) => boolean) | null = null
  private connections = 0
  /** The uTP endpoint on the listener's port number, once open (null: TCP only). */
  readonly utp: Promise<UtpEndpoint | null>
  private utpNow: UtpEndpoint | null = null
  /** How the engine reaches peers, for stats and `info`: "tcp+utp", or why uTP is not used. */
  transportNote = 'tcp (uTP starting)'
  /** What outgoing handshake worked with each peer (client-wide: one peer, many torrents). */
  readonly mse: MsePolicy
  /** The router's port mappings (null: not asked for). */
  readonly mapper: PortMapper | null
  /** The TCP listen port once up, for {@link externalPort}. */
  private listenPortNow: number | null = null

  constructor(
    private readonly opts: ResolvedOptions,
    route: IncomingRoute
  ) {
    this.hasher = createHasher(opts.hasherWorkers === undefined ? {} : { workers: opts.hasherWorkers })
    this.upBucket = new TokenBucket(limitToRate(opts.uploadRateLimit))
    this.downBucket = new TokenBucket(limitToRate(opts.downloadRateLimit))
    this.mse = new MsePolicy(opts.outgoingEncryption)
    this.listener = listen(opts.port, opts.host, route, opts.encryption, opts.admission)
    const pendingUtp = new PendingHandshakes<PeerSocket>(opts.admission)
    this.utp = !opts.utp
      ? Promise.resolve(null)
      : this.listener.then(
          (l) => openUtp(l.port, opts.host, (conn, release) => receiveHandshake(conn, route, opts.encryption, pendingUtp, opts.admission, release)),
          () => openUtp(opts.port, opts.host, (conn, release) => receiveHandshake(conn, route, opts.encryption, pendingUtp, opts.admission, release))
        )
    this.utp.then(
      (ep) => {
        this.utpNow = ep
        this.transportNote = ep ? (opts.tcp ? 'tcp+utp' : 'utp only') : 'tcp only (uTP turned off)'
        // uTP only: the TCP listener found the port number and stops accepting,
        // so a peer's TCP dial is refused at once and its uTP dial wins.
        if (ep && !opts.tcp) void this.listener.then((l) => l.close(), () => {})
      },
      (e: Error) => {
        this.transportNote = `tcp only (${e.message.startsWith('uTP unavailable') ? e.message : `uTP unavailable: ${e.message}`})`
      }
    )
    this.utp = this.utp.catch(() => null)
    // A listener that fails (port taken) must not crash the process: torrents
    // then run without incoming connections.
    this.listener.then(
      (l) => {
        this.isSelf = selfAddressFilter(l.port, opts.host)
      },
      () => {}
    )
    const listenPort = this.listener.then(
      (l) => l.port,
      () => null
    )
    this.mapper = opts.portMapping === null ? null : new PortMapper(opts.portMapping, [])
    // The DHT announces the router's external port once the first mapping attempt is over (mapped or not).
    const announcePort = this.mapper === null ? listenPort : listenPort.then(async (p) => (p === null ? null : (await this.mapper!.settled(), this.externalPort() ?? p)))
    this.dht = opts.dht === null ? null : new ClientDht({ ...opts.dht, listenPort: announcePort })
    this.lsd = opts.lsd === null ? null : new ClientLsd(opts.lsd, listenPort)
    if (this.mapper !== null) this.startMapping(this.mapper)
  }

  /** Map the TCP port (when TCP is on), the uTP port and, once it listens, the DHT's UDP port. */
  private startMapping(mapper: PortMapper): void {
    void Promise.all([this.listener.catch(() => null), this.utp]).then(([l, u]) => {
      this.listenPortNow = l?.port ?? null
      const wanted: WantedPort[] = []
      if (l !== null && this.opts.tcp) wanted.push({ protocol: 'tcp', port: l.port })
      if (u !== null) wanted.push({ protocol: 'udp', port: u.port })
      for (const w of wanted) mapper.add(w)
      if (wanted.length === 0) return void mapper.close()
      mapper.start()
      void this.dht?.dht.then(async (d) => {
        await d?.ready
        const p = this.dht?.port
        if (p !== null && p !== undefined) mapper.add({ protocol: 'udp', port: p })
      }).catch(() => {})
    })
  }

  /** The router's external TCP port for our listen port, once mapped. */
  externalPort(): number | null {
    return this.mapper === null || this.listenPortNow === null ? null : this.mapper.externalPort('tcp', this.listenPortNow)
  }

  /** Where the port mapping stands, for the stats. */
  portMappingNote(): string {
    return this.mapper?.note() ?? 'off'
  }

  /** Our listen port, once listening (a stand-in when the listener failed). */
  async port(): Promise<number> {
    const l = await this.listener.catch(() => null)
    return l?.port ?? FALLBACK_PORT
  }

  /** What a torrent and a magnet's metadata phase share; `changed` asks for a status update of that torrent. */
  sessionBase(port: number, changed: () => void): SessionBase {
    return {
      peerId: this.peerId,
      port,
      externalPort: () => this.externalPort(),
      externalIp: () => this.mapper?.externalAddress() ?? null,
      portMappingNote: () => this.portMappingNote(),
      canConnect: () => this.connections < this.opts.maxConns,
      connectionsChanged: (d) => {
        this.connections += d
      },
      changed,
      joinDht: (infoHash, isPrivate, hooks) => this.dht?.track(infoHash, isPrivate, hooks) ?? null,
      isSelf: (host, p) => this.isSelf?.(host, p) ?? false,
      pex: this.opts.pex,
      pexInterval: this.opts.pexInterval,
      admission: this.opts.admission
    }
  }

  /** The client runs a DHT (handshakes set the DHT bit). */
  get dhtOn(): boolean {
    return this.dht !== null
  }

  /** What a dial may use now: TCP unless turned off, and the uTP endpoint once it is open. */
  dialTransports(): DialTransports {
    return { tcp: this.opts.tcp, utp: this.utpNow }
  }

  /** Everything a torrent is given. */
  torrentContext(port: number, changed: () => void): TorrentContext {
    const o = this.opts
    return {
      ...this.sessionBase(port, changed),
      hasher: this.hasher,
      maxConnsPerTorrent: o.maxConnsPerTorrent,
      uploadSlots: o.uploadSlots,
      rechokeInterval: o.rechokeInterval,
      optimisticInterval: o.optimisticInterval,
      requestTimeout: o.requestTimeout,
      peerIdleTimeout: o.peerIdleTimeout,
      admission: o.admission,
      banStrikes: o.banStrikes,
      uploadRateLimit: o.torrentUploadRateLimit,
      downloadRateLimit: o.torrentDownloadRateLimit,
      clientUp: this.upBucket,
      clientDown: this.downBucket,
      hashInline: o.hashInline,
      webSeeds: o.webSeeds,
      scrape: o.scrape,
      ...(o.scrapeInterval !== undefined ? { scrapeInterval: o.scrapeInterval } : {}),
      ...(o.webSeedCa !== undefined ? { webSeedOptions: { ca: o.webSeedCa } } : {}),
      ...(this.dht !== null ? { dhtPort: () => this.dht?.port ?? null, dhtNode: (host: string, p: number) => this.dht?.addNode(host, p) } : {}),
      joinLsd: (infoHash, isPrivate, onPeer) => this.lsd?.track(infoHash, isPrivate, onPeer) ?? null,
      dial: (host, p, peerOpts) => dialPeer(host, p, peerOpts, { transports: this.dialTransports(), mse: this.mse }),
      transportNote: () => this.transportNote
    }
  }

  /** Remove the port mappings (bounded wait), release the listener, the hasher's workers, the DHT (its state saved) and LSD. */
  async close(): Promise<void> {
    const l = await this.listener.catch(() => null)
    const u = await this.utp
    await Promise.allSettled([this.mapper?.close(), l?.close(), u?.close(), this.hasher.close(), this.dht?.close(), this.lsd?.close()])
  }
}
