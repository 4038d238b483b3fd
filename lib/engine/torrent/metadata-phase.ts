/**
 * The first phase of a torrent started from a magnet: connect to the peers we
 * know of (magnet `x.pe` hints, manual peers, the magnet's trackers, peers
 * that dial us), fetch the info dictionary with ut_metadata (BEP 9), and hand
 * it over with the addresses learnt on the way.
 *
 * These connections request no piece; what a peer says of its pieces is kept
 * (torrent/handover.ts: a bitfield cannot be checked before the piece count is
 * known). Once the torrent proper runs, the handshaken connections go over to
 * it ({@link MetadataPhase.handOver}), so no peer is dialled twice. The
 * handshakes offer what the torrent's do (the fast extension, the DHT bit when
 * the client runs a DHT); with the fast extension we send Have None. Dials
 * race TCP and uTP and open as the torrent's do (the encryption policy).
 *
 * @internal
 * @module
 */
import { formatAddress, listenAddressOf } from '../swarm/address.ts'
import { createMetadataFetcher, type MetadataFetcher } from './metadata-fetcher.ts'
import { newCappedWire, type CappedWire, type PeerSource } from '../wire/peer.ts'
import { noPeerSources } from '../swarm/peer-sources.ts'
import { startTracker } from '../swarm/tracker.ts'
import type { StartTrackers, TrackerNote, TrackerSession } from '../contracts.ts'
import { useWireExtensions } from '../wire/extensions.ts'
import { createTorrentPex, type PexWire, type TorrentPex } from '../swarm/torrent-pex.ts'
import { PeerBook } from '../swarm/peer-book.ts'
import { RaceSocket, type DialTransports, type PeerSocket } from '../wire/transport.ts'
import { peEnabledFor, type Handshake, type MsePolicy } from '../wire/mse-policy.ts'
import { openOutgoing } from '../wire/mse-outgoing.ts'
import { sentPayloadOffer } from '../wire/protocol-internals.ts'
import { feedRead } from '../wire/dial.ts'
import { AvailabilityLog, destroyConnection, type HandedOver } from './handover.ts'
import { MAX_UPLOAD_QUEUE } from '../upload/upload-queue.ts'
import { defaultAdmissionLimits, firstMessageVerdict, type AdmissionLimits } from '../policy/admission.ts'
import { HashExchange } from '../wire/hash-exchange.ts'
import { LayerFetcher } from './layer-fetcher.ts'
import type { Metainfo } from '../contracts.ts'

/** What a metadata phase needs from its client. */
export interface MetadataPhaseOptions {
  /** Hex info hash of the handshake: the v1 SHA-1, or the first 20 bytes of a v2-only torrent's SHA-256. */
  readonly infoHash: string
  /** A v2-only torrent's whole SHA-256 info hash (hex): the info dictionary must hash to it, and our handshakes set the v2 bit. */
  readonly infoHashV2?: string
  /**
   * The info dictionary when it is known already (a .torrent file that lacks
   * piece layers): nothing is fetched, `metadata` resolves to it, and peers
   * that ask for it with ut_metadata get it.
   */
  readonly info?: Uint8Array
  /** Milliseconds before an unanswered hash request goes to another peer; default the exchange's. */
  readonly hashRequestTimeout?: number
  /** Our peer id, hex. */
  readonly peerId: string
  /** Our listen port (extended handshake `p`, tracker announces). */
  readonly port: number
  /** The client runs a DHT: our handshakes set the DHT bit, as the torrent's will (default false). */
  readonly dht?: boolean
  /** The router's external port mapped to `port`, once mapped (tracker announces carry it). */
  externalPort?(): number | null
  /** The router's external address, once a port mapping is in place (tracker announces' `ip`). */
  externalIp?(): string | null
  /** Tracker URLs of the magnet (`tr`). */
  readonly trackers: readonly string[]
  /** Starts the tracker session; default the engine's own client (swarm/tracker.ts). */
  readonly startTrackers?: StartTrackers
  /** Connections this phase may hold. */
  readonly maxConns: number
  /** Client-wide connection cap: may we open one more? */
  canConnect(): boolean
  connectionsChanged(delta: number): void
  /** Something worth a status update happened (a peer came or went). */
  changed(): void
  /** Give up on a connection without a handshake after this long (ms); default 20000. */
  readonly handshakeTimeout?: number
  /** Is `host:port` our own listen address? Never dialled. */
  isSelf?(host: string, port: number): boolean
  /** PEX (BEP 11) on metadata connections too, to find more peers; default true. */
  readonly pex?: boolean
  /** Milliseconds between PEX messages to each peer; default 60000. */
  readonly pexInterval?: number
  /** Who may hold connection slots (policy/admission.ts): the first-message deadline; default its defaults. */
  readonly admission?: AdmissionLimits
  /**
   * What a dial may use at this moment (the client's: TCP unless turned off,
   * its uTP endpoint once open); each dial races them as the torrent's do.
   * Default: TCP only.
   */
  transports?(): DialTransports
  /**
   * Outgoing encryption: the client's policy and per-peer memory (shared with
   * its torrents); default none: plaintext handshakes only.
   */
  readonly mse?: MsePolicy | null
}

const TCP_ONLY: DialTransports = { tcp: true, utp: null }

/** A peer address and where we learnt it. */
export interface LearntPeer {
  readonly address: string
  readonly source: PeerSource
}

interface Conn {
  readonly socket: PeerSocket
  readonly wire: CappedWire
  /** Dialled address, or the remote's ip:port for an incoming connection. */
  readonly address: string
  readonly source: PeerSource
  /** Where the peer listens (dialled address, or remote ip + its extended handshake's `p`). */
  listenAddress: string | null
  ready: boolean
  /** When the handshake completed (ms; 0 before). */
  readyAt: number
  /** The remote's peer id (hex), from its handshake. */
  remoteId: string | null
  closed: boolean
  timer: NodeJS.Timeout | null
  /** Removes each of the phase's listeners from the socket and the wire (a hand-over leaves none behind). */
  readonly unlisten: Array<() => void>
  /** What the peer said of its pieces since its handshake (for the torrent). */
  log: AvailabilityLog | null
  /** BEP 52 hash requests (piece layers of a v2-only magnet). */
  readonly hashes: HashExchange
  /** An outgoing connection's opening: its handshake, and whether the transport came up. */
  opening?: { readonly handshake: Handshake, connected: boolean }
}

export { MAX_KNOWN_PEERS } from '../swarm/peer-book.ts'

/**
 * Fetch a magnet's info dictionary from peers.
 *
 * @example
 * ```ts
 * const phase = new MetadataPhase({ infoHash, peerId, port, trackers: magnet.announce, maxConns: 50,
 *   canConnect: () => true, connectionsChanged() {}, changed() {} })
 * for (const p of magnet.peers) phase.addPeer(p, 'manual')
 * phase.start()
 * const info = await phase.metadata      // verified: SHA-1 = infoHash
 * const peers = phase.learnt()
 * await phase.close()
 * ```
 */
export class MetadataPhase {
  /** Resolves with the verified info dictionary; rejects if the phase is closed first. */
  readonly metadata: Promise<Uint8Array>
  private readonly fetcher: MetadataFetcher
  /** Addresses to dial; those (dialled or listen) of peers that sent wrong metadata are banned. */
  private readonly book: PeerBook
  private readonly conns = new Set<Conn>()
  private tracker: TrackerSession | null = null
  private started = false
  private closed = false
  /** A magnet has no private flag: PEX runs unless turned off (the torrent proper re-decides). */
  private readonly pex: TorrentPex | null
  /** The piece-layer fetch of a v2-only magnet, once the metadata is in. */
  private layerFetch: LayerFetcher | null = null
  /** The verified info dictionary, served with ut_metadata once known. */
  private info: Uint8Array | null

  constructor(private readonly opts: MetadataPhaseOptions) {
    this.book = new PeerBook({ isSelf: opts.isSelf })
    this.pex = opts.pex === false ? null : createTorrentPex({
      private: false,
      intervalMs: opts.pexInterval,
      onPeer: (addr) => this.addPeer(addr, 'pex')
    })
    this.fetcher = createMetadataFetcher({
      infoHash: opts.infoHash,
      ...(opts.infoHashV2 === undefined ? {} : { infoHashV2: opts.infoHashV2 }),
      onBadPeer: (wire, reason) => this.banWire(wire, reason)
    })
    this.metadata = opts.info === undefined ? this.fetcher.metadata : Promise.resolve(opts.info)
    this.info = opts.info ?? null
    this.metadata.then((info) => { this.info = info }, () => {})
  }

  /**
   * Give up every open, handshaken connection to the torrent proper, with
   * what each peer said of its pieces (the others close with the phase).
   * Each leaves the phase's count, timers, listeners, PEX and fetches; the
   * caller must adopt or close each one at once.
   */
  handOver(): HandedOver[] {
    const out: HandedOver[] = []
    for (const c of [...this.conns]) {
      if (c.remoteId === null || c.log === null) continue
      this.release(c)
      const { socket, wire } = c
      out.push({
        socket, wire, remoteId: c.remoteId, address: c.address, source: c.source,
        dialled: c.source === 'incoming' ? null : c.address,
        infoHash: this.opts.infoHash, log: c.log,
        close: () => destroyConnection(wire, socket)
      })
    }
    return out
  }

  /** `c` leaves the phase without closing. */
  private release(c: Conn): void {
    for (const off of c.unlisten.splice(0)) off()
    // Nothing listens for a moment: an error then must not be unhandled.
    c.socket.on('error', () => {})
    this.leave(c)
  }

  /** `c` is no longer the phase's: its timer, count, PEX listing, fetches and hash exchange go. */
  private leave(c: Conn): void {
    if (c.timer !== null) clearTimeout(c.timer)
    c.timer = null
    this.conns.delete(c)
    this.opts.connectionsChanged(-1)
    this.pex?.closed(c.wire)
    this.fetcher.remove(c.wire)
    this.layerFetch?.remove(c.hashes)
    c.hashes.close()
  }

  /**
   * The piece layers `meta` (a v2-only torrent from this phase's metadata)
   * lacks, fetched with hash requests from the connected v2 peers (and those
   * that connect later); rejects only when the phase closes first.
   */
  pieceLayers(meta: Pick<Metainfo, 'pieceLength' | 'v2'>): Promise<Map<string, Uint8Array>> {
    if (this.closed) return Promise.reject(new Error('metadata phase closed'))
    this.layerFetch?.destroy('replaced')
    const fetch = new LayerFetcher({ meta, changed: () => this.opts.changed(), onBadPeer: (x, reason) => this.banWire(x.wire, reason) })
    this.layerFetch = fetch
    for (const c of this.conns) if (c.ready) fetch.add(c.hashes)
    return fetch.layers
  }

  /** What the piece-layer fetch waits for (null when none runs). */
  layerNote(): string | null {
    return this.layerFetch?.note() ?? null
  }

  private banWire(wire: object, reason: string): void {
    for (const c of this.conns) {
      if (c.wire !== wire) continue
      this.book.ban(c.address)
      if (c.listenAddress !== null) this.book.ban(c.listenAddress)
      this.closeConn(c, reason)
    }
  }

  /** Start dialling and announcing. */
  start(): void {
    if (this.started || this.closed) return
    this.started = true
    try {
      this.tracker = (this.opts.startTrackers ?? startTracker)({
        infoHash: this.opts.infoHash,
        peerId: this.opts.peerId,
        announce: this.opts.trackers,
        port: this.opts.port,
        ...(this.opts.externalPort && { externalPort: () => this.opts.externalPort?.() ?? null }),
        ...(this.opts.externalIp && { externalIp: () => this.opts.externalIp?.() ?? null }),
        // The size is unknown until the metadata arrives: say "everything left".
        stats: () => ({ uploaded: 0, downloaded: 0, left: Number.MAX_SAFE_INTEGER }),
        onPeer: (host, port) => this.addPeer(formatAddress(host, port), 'tracker')
      })
    } catch {
      // A tracker URL the library cannot use must not stop the fetch: peers may come from elsewhere.
      this.tracker = null
    }
    this.connectMore()
  }

  /** Learn of a peer at `host:port`. */
  addPeer(addr: string, source: PeerSource): void {
    if (this.book.add(addr, source) !== null && this.started) this.connectMore()
  }

  /** About once a second: close peers silent since their handshake, redial peers whose back-off is over. */
  tick(): void {
    const now = Date.now()
    const limits = this.opts.admission ?? defaultAdmissionLimits
    for (const c of [...this.conns]) {
      if (c.ready && firstMessageVerdict(c.readyAt, c.wire.firstMessageAt || undefined, now, limits) === 'close') this.closeConn(c, 'silent after its handshake')
    }
    this.layerFetch?.tick()
    this.connectMore()
  }

  /** Each tracker's latest announce note (empty without trackers). */
  trackerNotes(): TrackerNote[] {
    return this.tracker?.notes() ?? []
  }

  /** Connected peers that completed the handshake. */
  connectedPeers(): number {
    let n = 0
    for (const c of this.conns) if (c.ready) n++
    return n
  }

  /** Connected peers by source (the shape of TorrentStats.peerSources). */
  sources(): Record<PeerSource, number> {
    const s = noPeerSources()
    for (const c of this.conns) if (c.ready) s[c.source]++
    return s
  }

  /**
   * Every address worth dialling for data, without those that lied about the
   * metadata, nor the listen addresses of peers that dialled us and are
   * handshaken (their connections are handed over, not dialled again).
   */
  learnt(): LearntPeer[] {
    const out = new Map<string, PeerSource>()
    for (const k of this.book.entries()) out.set(k.key, k.source)
    for (const c of this.conns) {
      if (c.ready && c.source === 'incoming') continue
      if (c.listenAddress !== null && !this.book.isBanned(c.listenAddress) && !out.has(c.listenAddress)) out.set(c.listenAddress, c.source)
    }
    return [...out].map(([address, source]) => ({ address, source }))
  }

  /** An incoming connection whose handshake named our infohash (the listener read it). */
  acceptIncoming(socket: PeerSocket, wire: CappedWire, remoteId: string): boolean {
    if (!this.started || this.closed || remoteId === this.opts.peerId) return false
    if (this.conns.size >= this.opts.maxConns || !this.opts.canConnect()) {
      // Full: the newcomer takes the slot of the oldest peer that has said nothing since its handshake, if any.
      const silent = this.oldestSilent()
      if (silent === undefined) return false
      this.closeConn(silent, 'its slot went to a newcomer; it had said nothing')
    }
    const ip = socket.remoteAddress ?? ''
    const c = this.track(socket, wire, formatAddress(ip, socket.remotePort ?? 0), 'incoming', null)
    this.extend(wire)
    this.pex?.attach(wire as unknown as PexWire, socket.remoteAddress, null)
    wire.handshake(this.opts.infoHash, this.opts.peerId, this.reserved())
    c.remoteId = remoteId
    this.ready(c)
    return true
  }

  /** Stop: close every connection, stop announcing, reject `metadata` if it is still pending. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.fetcher.destroy('torrent closed')
    this.layerFetch?.destroy('torrent closed')
    this.pex?.destroy()
    const gone = [...this.conns].map((c) => new Promise<void>((resolve) => {
      if (c.socket.destroyed && c.socket.closed) return resolve()
      c.socket.once('close', () => resolve())
    }))
    for (const c of [...this.conns]) this.closeConn(c, 'metadata phase over')
    await Promise.allSettled([this.tracker?.stop(), ...gone])
    this.tracker = null
  }

  private connectMore(): void {
    if (!this.started || this.closed) return
    for (const k of this.book.due(() => this.conns.size < this.opts.maxConns && this.opts.canConnect())) {
      const key = k.key
      const mse = this.opts.mse ?? null
      const handshake: Handshake = mse?.first(key) ?? 'plaintext'
      const wire = newCappedWire('tcpOutgoing', peEnabledFor(handshake))
      // Over whichever transport connects first, read as the torrent's dials read (the torrent may adopt it).
      const socket = new RaceSocket(k.host, k.port, this.opts.transports?.() ?? TCP_ONLY, (view) => {
        if (c.closed) return
        try {
          feedRead(wire, view)
        } catch (e) {
          socket.destroy(e as Error)
        }
      })
      wire.pipe(socket)
      const c: Conn = this.track(socket, wire, key, k.source, key)
      c.opening = { handshake, connected: false }
      this.extend(wire)
      this.pex?.attach(wire as unknown as PexWire, undefined, key)
      socket.once('connect', () => {
        if (c.closed) return
        c.opening!.connected = true
        // The same opening as the torrent's dials: obfuscated or plain by the policy, its outcome remembered.
        openOutgoing(wire, handshake, {
          infoHash: this.opts.infoHash,
          peerId: this.opts.peerId,
          sendHandshake: () => wire.handshake(this.opts.infoHash, this.opts.peerId, this.reserved()),
          transport: socket,
          timeoutMs: this.opts.handshakeTimeout ?? 20000
        }).then(
          () => mse?.succeeded(key, handshake),
          (e: Error) => this.closeConn(c, e.message)
        )
      })
      wire.once('handshake', (infoHash: string, peerId: string) => {
        if (infoHash !== this.opts.infoHash) this.closeConn(c, 'wrong infohash')
        else if (peerId === this.opts.peerId) {
          this.book.forget(key)
          this.closeConn(c, 'connected to ourselves')
        } else {
          c.remoteId = peerId
          this.ready(c)
        }
      })
    }
  }

  /** BEP 10 set-up before our handshake: the torrent's extensions (`reqq` included: the torrent may adopt the wire). */
  private extend(wire: CappedWire): void {
    useWireExtensions(wire, { info: () => this.info, port: this.opts.port, requestQueue: MAX_UPLOAD_QUEUE })
  }

  /** Our reserved bits: the torrent's (fast, DHT), and the v2 bit for a v2-only magnet. */
  private reserved(): Record<string, boolean> {
    return { dht: this.opts.dht === true, fast: true, v2: this.opts.infoHashV2 !== undefined }
  }

  /** Common set-up of a connection (its socket already piped to the wire): timers, clean-up, `p`. */
  private track(socket: PeerSocket, wire: CappedWire, address: string, source: PeerSource, listenAddress: string | null): Conn {
    const hashes = new HashExchange(wire, {
      v2Swarm: this.opts.infoHashV2 !== undefined,
      ...(this.opts.hashRequestTimeout === undefined ? {} : { timeoutMs: this.opts.hashRequestTimeout })
    })
    const c: Conn = {
      socket, wire, address, source, listenAddress, ready: false, readyAt: 0, remoteId: null, closed: false, timer: null, hashes,
      unlisten: [], log: null
    }
    this.conns.add(c)
    this.opts.connectionsChanged(1)
    const on = (emitter: PeerSocket | CappedWire, event: string, fn: Parameters<CappedWire['on']>[1]): void => {
      emitter.on(event, fn)
      c.unlisten.push(() => emitter.off(event, fn))
    }
    const close = (why: string) => () => this.closeConn(c, why)
    on(socket, 'error', close('socket error'))
    on(socket, 'close', close('socket closed'))
    on(wire, 'error', close('wire error'))
    on(wire, 'close', close('wire closed'))
    on(wire, 'end', close('wire ended'))
    on(wire, 'oversize', close('oversized message'))
    on(wire, 'malformed', close('malformed message'))
    on(wire, 'protocol-error', (reason: string) => this.closeConn(c, reason))
    on(wire, 'extended', (ext: string | number) => {
      if (ext !== 'handshake' || source !== 'incoming' || c.listenAddress !== null) return
      c.listenAddress = listenAddressOf(socket.remoteAddress, wire.peerExtendedHandshake)
      if (c.listenAddress !== null && this.book.isBanned(c.listenAddress)) this.closeConn(c, 'sent wrong metadata before')
    })
    c.timer = setTimeout(close('handshake timeout'), this.opts.handshakeTimeout ?? 20000)
    c.timer.unref?.()
    return c
  }

  private ready(c: Conn): void {
    if (c.closed) return
    c.ready = true
    c.readyAt = Date.now()
    if (c.timer !== null) clearTimeout(c.timer)
    c.timer = null
    this.book.succeeded(c.address)
    // The fetch may wait a long time for a peer with the metadata: keep idle connections open.
    c.wire.setKeepAlive(true)
    c.log = new AvailabilityLog(c.wire, (why) => this.closeConn(c, why))
    // BEP 6: with the fast extension, say what we have (nothing yet) at once.
    if (c.wire.hasFast) c.wire.haveNone()
    if (this.opts.info === undefined) this.fetcher.add(c.wire)
    this.layerFetch?.add(c.hashes)
    this.pex?.ready(c.wire)
    this.opts.changed()
  }

  /** The handshaken connection that has sent no message for the longest (keep-alives aside). */
  private oldestSilent(): Conn | undefined {
    let best: Conn | undefined
    for (const c of this.conns) if (c.ready && c.wire.firstMessageAt === 0 && (best === undefined || c.readyAt < best.readyAt)) best = c
    return best
  }

  private closeConn(c: Conn, reason: string): void {
    void reason
    if (c.closed) return
    c.closed = true
    this.leave(c)
    c.log?.detach()
    c.wire.setKeepAlive(false)
    destroyConnection(c.wire, c.socket)
    // A refused opening is retried at once with what the policy says next (plaintext, or an RC4 offer).
    const o = c.opening
    const retry = o !== undefined && o.connected && !c.ready && this.opts.mse != null &&
      this.opts.mse.failed(c.address, o.handshake, sentPayloadOffer(c.wire) ? 'payload-offer' : 'handshake') !== null
    this.book.closed(c.address, retry)
    if (c.ready && !this.closed) this.opts.changed()
  }
}
