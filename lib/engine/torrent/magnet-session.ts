/**
 * A torrent started from a magnet link: first a {@link MetadataPhase}
 * (activity "fetching metadata"), then, once the info dictionary is verified
 * and usable, an ordinary {@link Torrent} that this session wraps and
 * delegates to (checking, download, seeding, resume).
 *
 * The metadata phase's handshaken connections stay open until the torrent
 * takes peers, and are then handed over to it, live (torrent/handover.ts).
 *
 * A v2-only torrent whose metadata lacks piece layers (every magnet's, and a
 * .torrent file's without some of them, given as `known`) fetches them
 * between the two (activity "fetching piece layers (...)"): its pieces cannot
 * be verified before. A known metainfo skips the metadata fetch.
 *
 * The client admits the metainfo (file claims, storage) through the `admit`
 * callback, on its creation chain, exactly as for a .torrent file. When the
 * metadata turns out unusable (unsafe paths, a file of another running
 * torrent, storage that cannot open), the session reports
 * `error: <reason>` and stays until closed.
 *
 * @internal
 * @module
 */
import { formatAddress } from '../swarm/address.ts'
import type net from 'node:net'
import type { Magnet, Metainfo } from '../contracts.ts'
import { emptyStats, type TorrentStats } from '../../messages.ts'
import { noPeerSources } from '../swarm/peer-sources.ts'
import { metainfoFromInfoBytes } from '../metainfo/index.ts'
import { MetadataPhase, type MetadataPhaseOptions } from './metadata-phase.ts'
import { needsPieceLayers } from './layer-fetcher.ts'
import { withPieceLayers } from '../metainfo/v2-pieces.ts'
import type { CappedWire, PeerSource } from '../wire/peer.ts'
import type { Torrent } from './torrent.ts'
import type { TorrentContext } from './context.ts'
import type { DhtTorrentSession } from '../swarm/client-dht.ts'
import type { PeerSocket } from '../wire/transport.ts'

/** What the client does with verified metainfo: start a Torrent (returned) or say why not. */
export type Admit = (meta: Metainfo) => Promise<Torrent | string>

/**
 * What a magnet for `meta` would say: its swarm, trackers, web seeds and name
 * (no peer hints); the `magnet` of a session given a known metainfo.
 *
 * @example
 * new MagnetSession({ ...options, magnet: magnetOf(meta), known: meta })
 */
export const magnetOf = (meta: Metainfo): Magnet => ({
  infoHash: meta.infoHash,
  ...(meta.v2 === undefined ? {} : { infoHashV2: meta.v2.infoHash }),
  name: meta.name,
  announce: meta.announce,
  peers: [],
  webSeeds: meta.urlList
})

/** Options of a {@link MagnetSession}. */
export interface MagnetSessionOptions extends Omit<MetadataPhaseOptions, 'infoHash' | 'infoHashV2' | 'trackers' | 'info'> {
  readonly magnet: Magnet
  /** The metainfo when it is known (a v2-only .torrent without some piece layers): only the layers are fetched. */
  readonly known?: Metainfo
  /** Manual peers (client's, command's) and the magnet's `x.pe` hints. */
  readonly peers: readonly string[]
  readonly admit: Admit
  /** The client's DHT, to find metadata peers (the Torrent proper joins it again, unless private). */
  readonly joinDht?: TorrentContext['joinDht']
  /** Where the client's port mapping stands, for the stats of the metadata phase. */
  portMappingNote?(): string
}

/**
 * One magnet torrent, in whichever phase it is.
 *
 * @example
 * ```ts
 * const s = new MagnetSession({ magnet, peers, peerId, port, maxConns: 50, canConnect, connectionsChanged, changed, admit })
 * s.start()
 * s.stats().activity // 'fetching metadata', later 'downloading', 'seeding'
 * await s.close()
 * ```
 */
export class MagnetSession {
  private readonly phase: MetadataPhase
  private torrent: Torrent | null = null
  private error: string | null = null
  /** True while the piece layers of a v2-only magnet are fetched (after its metadata). */
  private fetchingLayers = false
  private closed = false
  /** DHT lookups for metadata peers, while fetching. */
  private dht: DhtTorrentSession | null = null

  constructor(private readonly opts: MagnetSessionOptions) {
    // A magnet with only a v2 hash joins the v2 swarm: the metadata must hash to it, and the handshakes say v2.
    const v2Only = opts.magnet.infoHashV2 !== undefined && opts.magnet.infoHash === opts.magnet.infoHashV2.slice(0, 40)
    this.phase = new MetadataPhase({
      ...opts,
      infoHash: opts.magnet.infoHash,
      ...(v2Only ? { infoHashV2: opts.magnet.infoHashV2 } : {}),
      ...(opts.known === undefined ? {} : { info: opts.known.infoBytes, ...(opts.known.private ? { pex: false } : {}) }),
      trackers: opts.magnet.announce
    })
    for (const p of opts.peers) this.phase.addPeer(p, 'manual')
  }

  /** Hex v1 info hash. */
  get infoHash(): string {
    return this.opts.magnet.infoHash
  }

  /** The running torrent once the metadata arrived and was admitted, else null. */
  get inner(): Torrent | null {
    return this.torrent
  }

  /** Start fetching the metadata; the torrent proper starts when it arrives. */
  async start(): Promise<void> {
    this.phase.start()
    // A magnet says nothing of BEP 27 (the private flag is inside the info dictionary), so the
    // metadata phase may use the DHT; the Torrent proper decides again once the flag is known.
    // A known metainfo's flag holds from the start.
    this.dht = this.opts.joinDht?.(this.infoHash, this.opts.known?.private === true, {
      onPeer: (host, port) => this.phase.addPeer(formatAddress(host, port), 'dht'),
      wanted: () => true
    }) ?? null
    let meta = this.opts.known ?? await this.fetchMetainfo()
    if (meta === null || this.closed) return
    if (needsPieceLayers(meta)) {
      // A v2-only torrent verifies its pieces against piece layers, which the info dictionary does not carry.
      this.fetchingLayers = true
      this.opts.changed()
      let layers: Map<string, Uint8Array>
      try {
        layers = await this.phase.pieceLayers(meta)
      } catch {
        return // closed before the layers came
      }
      this.fetchingLayers = false
      if (this.closed) return
      const full = withPieceLayers(meta, layers)
      if (typeof full === 'string') return this.fail(full)
      meta = full
    }
    this.stopDht()
    const admitted = await this.opts.admit(meta).catch((e: unknown) => (e instanceof Error ? e.message : String(e)))
    if (typeof admitted === 'string') return this.fail(admitted)
    if (this.closed) {
      await admitted.close()
      return
    }
    this.torrent = admitted
    for (const p of this.phase.learnt()) admitted.addPeerAddress(p.address, p.source)
    // The phase's live connections go over to the torrent once it takes peers (after checking
    // its data), before it dials: no peer is dialled twice (torrent/handover.ts).
    await admitted.start(() => {
      for (const h of this.phase.handOver()) if (!admitted.adopt(h)) h.close('not admitted by the torrent')
    })
    await this.phase.close()
  }

  /** The magnet's metainfo from peers, checked against its hash; null when closed first or refused (the session then fails). */
  private async fetchMetainfo(): Promise<Metainfo | null> {
    let info: Uint8Array
    try {
      info = await this.phase.metadata
    } catch {
      return null // closed before the metadata came
    }
    if (this.closed) return null
    const parsed = await metainfoFromInfoBytes(info, { announce: this.opts.magnet.announce, urlList: this.opts.magnet.webSeeds ?? [] }, { acceptV2Only: true })
    if (this.closed) return null
    if (!parsed.ok) {
      this.fail(parsed.reason)
      return null
    }
    if (parsed.value.infoHash !== this.infoHash) {
      // A hybrid runs under its v1 hash: a magnet that names only its v2 hash cannot be its key.
      const hybrid = parsed.value.version === 'hybrid' && parsed.value.v2?.infoHash === this.opts.magnet.infoHashV2
      this.fail(hybrid ? 'the magnet names only the v2 hash of a hybrid torrent: add it with its btih' : 'metadata does not match the magnet\'s info hash')
      return null
    }
    return parsed.value
  }

  private fail(reason: string): void {
    if (this.closed || this.error !== null) return
    this.error = reason
    this.stopDht()
    void this.phase.close()
    this.opts.changed()
  }

  /** Learn of a peer (tracker, DHT, PEX, ...): for the metadata phase, or the torrent once it runs. */
  addPeerAddress(addr: string, source: PeerSource): void {
    if (this.torrent !== null) this.torrent.addPeerAddress(addr, source)
    else if (this.error === null && !this.closed) this.phase.addPeer(addr, source)
  }

  /** About once a second. */
  tick(): void {
    if (this.torrent !== null) this.torrent.tick()
    else if (this.error === null) this.phase.tick()
  }

  /** An incoming connection whose handshake named this torrent. */
  acceptIncoming(socket: PeerSocket, wire: CappedWire, remoteId: string, named?: string): boolean {
    if (this.torrent !== null) return this.torrent.acceptIncoming(socket, wire, remoteId, named)
    // The metadata phase answers with the magnet's key only: a hybrid's v2 key waits for the torrent.
    if (this.error !== null || this.closed || (named !== undefined && named !== this.opts.magnet.infoHash)) return false
    return this.phase.acceptIncoming(socket, wire, remoteId)
  }

  /** Close whichever phase runs: sockets, timers, files released. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.stopDht()
    await this.phase.close()
    await this.torrent?.close()
  }

  private stopDht(): void {
    this.dht?.close()
    this.dht = null
  }

  /** Status now: the torrent's, or the metadata phase's (sizes 0). */
  stats(): TorrentStats {
    if (this.torrent !== null) return this.torrent.stats()
    const activity = this.closed
      ? 'shut down'
      : this.error !== null
        ? `error: ${this.error}`
        : this.fetchingLayers ? `fetching piece layers (${this.phase.layerNote() ?? 'starting'})` : 'fetching metadata'
    const fetching = this.error === null && !this.closed
    const trackers = fetching ? this.phase.trackerNotes() : []
    return {
      ...emptyStats,
      activity,
      numPeers: fetching ? this.phase.connectedPeers() : 0,
      peerSources: fetching ? this.phase.sources() : noPeerSources(),
      ...(trackers.length > 0 && { trackers }),
      ...(this.opts.portMappingNote && { portMapping: this.opts.portMappingNote() })
    }
  }
}
