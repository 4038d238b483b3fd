/**
 * A torrent's connections: dialling addresses from its peer book, admitting
 * incoming connections, the checks of a new handshake (banned, duplicate),
 * and the set-up every wire gets before our handshake (BEP 10 extensions,
 * PEX, the DHT port). Every connection, dialled or accepted, whatever its
 * transport, enters through {@link Connections.admit}, and so does a
 * magnet's metadata-phase connection handed over live ({@link Connections.adopt}).
 *
 * Slots are given by the admission policy (policy/admission.ts): a full
 * torrent takes a newcomer in place of its least useful peer rather than
 * refusing it, peers per address are capped, and a peer that says nothing
 * after its handshake is closed.
 *
 * @internal
 * @module
 */
import type net from 'node:net'
import { connectPeer } from '../wire/dial.ts'
import { Peer, type CappedWire, type PeerHandler, type PeerOptions, type PeerSource } from '../wire/peer.ts'
import { announceMetadataSize, useWireExtensions } from '../wire/extensions.ts'
import { MAX_UPLOAD_QUEUE } from '../upload/upload-queue.ts'
import { HashExchange } from '../wire/hash-exchange.ts'
import { hashServer, type HashAnswerFn } from './hash-server.ts'
import { answerHandshake, dialHandshake, type OurHandshake } from '../wire/v2-upgrade.ts'
import { createTorrentPex, type PexWire, type TorrentPex } from '../swarm/torrent-pex.ts'
import type { PeerBook } from '../swarm/peer-book.ts'
import { bareHost, formatAddress, listenAddressOf } from '../swarm/address.ts'
import { idleVerdict } from '../policy/idle.ts'
import { admitPeer, defaultAdmissionLimits, firstMessageVerdict, leastUseful, type AdmissionLimits, type AdmissionPeerView } from '../policy/admission.ts'
import type { Metainfo } from '../contracts.ts'
import type { TorrentContext } from './context.ts'
import type { PeerSocket } from '../wire/transport.ts'
import { greetFast } from '../wire/allowed-fast.ts'
import { greetHandedOver, type AvailabilityLog, type HandedOver } from './handover.ts'

/**
 * Opens an outgoing connection to `host:port` for `opts` and returns its
 * Peer at once (the handshake follows when the transport connects).
 */
export type Dial = (host: string, port: number, opts: PeerOptions) => Peer

/** What the connections need from their torrent and client. */
export interface ConnectionsOptions {
  /** The info dictionary is served with ut_metadata; `private` turns the DHT off. */
  readonly meta: Pick<Metainfo, 'infoHash' | 'pieceCount' | 'infoBytes' | 'private'> & Partial<Pick<Metainfo, 'pieceLength' | 'version' | 'v2'>>
  /** Identity, caps, the DHT port and the transport. */
  readonly ctx: Pick<
    TorrentContext,
    'peerId' | 'port' | 'maxConnsPerTorrent' | 'canConnect' | 'connectionsChanged' | 'dhtPort' | 'dhtNode' | 'dial' | 'pex' | 'pexInterval' | 'admission' | 'now'
  >
  readonly handler: PeerHandler
  readonly book: PeerBook
  /** PEX named a peer. */
  learnt(addr: string): void
  /** The bytes of a piece we have, to answer hash requests for its leaves (null: we do not have it). */
  readPiece?(piece: number): Promise<Uint8Array> | null
  /** True while the torrent takes peers. */
  accepting(): boolean
  /** We have every piece: addresses whose last connection was a seed's are not dialled (default never). */
  complete?(): boolean
}

/**
 * The connected (and connecting) peers of one torrent, by address.
 *
 * @example
 * ```ts
 * const conns = new Connections({ meta, ctx, handler: torrent, book, learnt: (a) => book.add(a, 'pex'), accepting: () => true })
 * conns.dialMore()
 * ```
 */
export class Connections {
  private readonly peers = new Map<string, Peer>()
  /** BEP 5 handshake bit and PORT messages: only with a DHT, and never for a private torrent. */
  private readonly dht: boolean
  private readonly dial: Dial
  /** Peer exchange with our peers; null when private or turned off. */
  private readonly pex: TorrentPex | null
  private readonly limits: AdmissionLimits
  /** The BEP 52 hash messages of each wire. */
  private readonly exchanges = new WeakMap<CappedWire, HashExchange>()
  /** Answers hash requests (BEP 52), made on the first connection. */
  private serveHashes: HashAnswerFn | null = null
  /** Handed-over peers not yet greeted, with what they said before the metadata. */
  private readonly handedOver = new WeakMap<Peer, AvailabilityLog>()
  /** Each incoming peer's listen address that the book holds as connected for it (redialled once it closes). */
  private readonly listening = new WeakMap<CappedWire, string>()

  constructor(private readonly o: ConnectionsOptions) {
    this.dht = !o.meta.private && o.ctx.dhtPort !== undefined
    this.dial = o.ctx.dial ?? connectPeer
    this.limits = o.ctx.admission ?? defaultAdmissionLimits
    this.pex = o.ctx.pex === false ? null : createTorrentPex({ private: o.meta.private, intervalMs: o.ctx.pexInterval, onPeer: (addr) => o.learnt(addr) })
  }

  get size(): number {
    return this.peers.size
  }

  get(address: string): Peer | undefined {
    return this.peers.get(address)
  }

  /**
   * We verified `piece`: tell the peers that lack it. No redundant haves: a
   * peer that has the piece gains nothing from hearing of ours (and to a seed
   * that is one socket write per piece saved).
   */
  have(piece: number): void {
    for (const p of this.peers.values()) if (p.ready && !p.bits.get(piece)) p.wire.have(piece)
  }

  /** We have what we want: seeds are of no more use when we have every piece, and nobody else interests us. */
  completed(haveAll: boolean): void {
    for (const p of [...this.peers.values()]) {
      if (p.ready && p.isSeed() && haveAll) p.close('both seeds')
      else if (p.wire.amInterested) p.wire.uninterested()
    }
  }

  /** Run `f` for every peer (connecting ones too). */
  each(f: (peer: Peer) => void): void {
    for (const p of this.peers.values()) f(p)
  }

  values(): IterableIterator<Peer> {
    return this.peers.values()
  }

  /** Handshaken peers. */
  readyCount(): number {
    let n = 0
    for (const p of this.peers.values()) if (p.ready) n++
    return n
  }

  /**
   * Dial due addresses of the book while the torrent and the client have
   * room. A full torrent with an address to dial gives up one peer that has
   * said nothing useful since its handshake (a slot it holds for nothing).
   */
  dialMore(): void {
    if (!this.o.accepting()) return
    const noSeeds = this.o.complete?.() === true
    if (!this.hasRoom() && this.o.book.hasDue(noSeeds)) {
      const silent = leastUseful(this.views().filter((v) => !v.saidSomethingUseful))
      if (silent !== undefined) this.peers.get(silent.id)?.close('evicted: its slot went to a peer to dial; it had said nothing useful')
    }
    // Seeds gain nothing from other seeds; still connect: most swarm peers are leechers.
    for (const k of this.o.book.due(() => this.hasRoom(), noSeeds)) {
      this.o.ctx.connectionsChanged(1)
      const peer = this.dial(k.host, k.port, this.options(k.source, k.key, undefined, k.key, dialHandshake(this.o.meta)))
      this.peers.set(k.key, peer)
    }
  }

  /**
   * An incoming connection whose handshake named this torrent (`named`: the
   * v1 hash or a hybrid's v2 swarm key; BEP 52's rules in wire/v2-upgrade.ts
   * decide what we answer and whether it speaks v2): admitted, admitted in
   * place of the least useful peer (which is closed), or refused (see
   * policy/admission.ts).
   */
  acceptIncoming(socket: PeerSocket, wire: CappedWire, remoteId: string, named: string = this.o.meta.infoHash): boolean {
    const host = bareHost(socket.remoteAddress ?? '')
    const address = formatAddress(host, socket.remotePort ?? 0)
    const answer = answerHandshake(this.o.meta, named, wire.peerV2)
    if (answer === null || !this.o.accepting() || this.o.book.isBanned(remoteId) || this.peers.has(address)) return false
    const verdict = admitPeer(this.views(), host, !this.hasRoom(), this.limits)
    if (verdict.kind === 'refuse') return false
    this.o.ctx.connectionsChanged(1)
    const peer = new Peer(socket, this.options('incoming', address, socket.remoteAddress, null, answer), wire)
    this.peers.set(address, peer)
    // The newcomer holds the slot before the evicted peer lets go of it, so nothing else (a dial) takes it meanwhile.
    if (verdict.kind === 'evict') this.peers.get(verdict.id)?.close(`evicted: its slot went to a newcomer (${address}); neither side was interested`)
    peer.acceptHandshake(remoteId)
    return true
  }

  /**
   * A connection of the magnet's metadata phase, handshaken already: admitted
   * as an incoming one is (bans, the connection cap, the admission policy;
   * then {@link Connections.admit}'s duplicate check), its Peer built over the
   * same socket and wire without a second handshake. False: refused (the
   * caller closes it). What the peer said of its pieces is replayed when it
   * is greeted. Its version is the one its handshake made: a v2-only
   * torrent's connections speak v2, a hybrid's stay v1 (the phase named the
   * v1 hash without the v2 bit).
   */
  adopt(h: HandedOver): boolean {
    const host = bareHost(h.address.slice(0, h.address.lastIndexOf(':')))
    if (!this.o.accepting() || this.o.book.isBanned(h.remoteId) || this.o.book.isBanned(h.address) || this.peers.has(h.address)) return false
    const verdict = admitPeer(this.views(), host, !this.hasRoom(), this.limits)
    if (verdict.kind === 'refuse') return false
    this.o.ctx.connectionsChanged(1)
    const v2 = this.o.meta.version === 'v2'
    const remoteHost = h.dialled === null ? h.socket.remoteAddress : undefined
    const peer = new Peer(h.socket, this.options(h.source, h.address, remoteHost, h.dialled, { infoHash: h.infoHash, v2Bit: v2, speaksV2: v2 }, true), h.wire)
    this.peers.set(h.address, peer)
    if (h.dialled !== null) this.o.book.claim(h.dialled)
    this.handedOver.set(peer, h.log)
    if (verdict.kind === 'evict') this.peers.get(verdict.id)?.close(`evicted: its slot went to a handed-over peer (${h.address}); neither side was interested`)
    peer.acceptHandshake(h.remoteId, false)
    return true
  }

  /**
   * Our first messages to an admitted peer: what we have and its allowed-fast
   * pieces (wire/allowed-fast.ts). A handed-over peer first has what it said
   * before the metadata replayed (which may close it: a bitfield of the wrong
   * length, a seed when we are one), then gets a have per piece we hold,
   * never a late bitfield, and unless it is a seed our extended handshake
   * again with the info dictionary's size.
   */
  greet(peer: Peer, have: Parameters<typeof greetFast>[1], infoHash: Uint8Array): void {
    const log = this.handedOver.get(peer)
    if (log === undefined) return greetFast(peer, have, infoHash)
    this.handedOver.delete(peer)
    log.replay(peer.wire)
    if (peer.closed) return
    greetHandedOver(peer, have, infoHash)
    // Our extended handshake went out before the metadata: a peer that may lack it hears its size now.
    if (!peer.isSeed()) announceMetadataSize(peer.wire, this.o.meta.infoBytes.length)
  }

  /**
   * A peer completed its handshake: false (and closed) when it is banned or
   * a second connection to a peer id we already talk to.
   */
  admit(peer: Peer): boolean {
    if (peer.remoteId !== null && this.o.book.isBanned(peer.remoteId)) {
      peer.close('banned')
      return false
    }
    for (const other of this.peers.values()) {
      if (other !== peer && other.ready && other.remoteId === peer.remoteId) {
        peer.close('duplicate connection')
        return false
      }
    }
    this.o.book.succeeded(peer.address)
    this.pex?.ready(peer.wire)
    return true
  }

  /** BEP 5: tell a peer that set the DHT bit where our DHT node listens (after the bitfield: BEP 3 wants it first). */
  sendDhtPort(peer: Peer): void {
    const port = this.dht ? this.o.ctx.dhtPort?.() ?? null : null
    if (port === null || !(peer.wire.peerExtensions as { dht?: boolean }).dht) return
    try {
      peer.wire.port(port)
    } catch {
      // a closing wire: nothing to tell
    }
  }

  /**
   * A peer closed: false when it was not (or no longer) ours. Its address is
   * redialled after a back-off, a seed's only while we lack pieces.
   */
  remove(peer: Peer): boolean {
    if (this.peers.get(peer.address) !== peer) return false
    this.peers.delete(peer.address)
    this.pex?.closed(peer.wire)
    this.o.ctx.connectionsChanged(-1)
    const seed = peer.ready ? peer.isSeed() : undefined
    this.o.book.closed(peer.address, peer.redialAtOnce, seed)
    const listen = this.listening.get(peer.wire)
    if (listen !== undefined) {
      this.listening.delete(peer.wire)
      this.o.book.closed(listen, false, seed)
    }
    return true
  }

  /**
   * An incoming peer's extended handshake named the port it listens on: its
   * listen address enters the book, held as connected while this connection
   * lasts (never dialled beside it) and redialled after the usual back-off
   * once it closes, as a dialled address is. A handed-over peer's comes with
   * its replayed handshake. Nothing is recorded for an address the book
   * refuses (ours, banned, the book full) or one already connected or being
   * dialled.
   */
  private listenedAt(wire: CappedWire, address: string, remoteHost: string, handshake: unknown): void {
    const peer = this.peers.get(address)
    if (peer === undefined || peer.wire !== wire || peer.closed || this.listening.has(wire)) return
    const addr = listenAddressOf(remoteHost, handshake)
    const key = addr === null ? null : this.o.book.add(addr, 'incoming')
    if (key === null || this.o.book.get(key)?.connected === true || this.peers.has(key)) return
    this.o.book.claim(key)
    this.o.book.succeeded(key)
    this.listening.set(wire, key)
  }

  /** Ban a peer that sent bad data, by peer id and address (and its listen address): never dialled or admitted again, closed now. */
  ban(remoteId: string, address: string): void {
    this.o.book.ban(remoteId)
    this.o.book.ban(address)
    const wire = this.peers.get(address)?.wire
    const listen = wire === undefined ? undefined : this.listening.get(wire)
    if (listen !== undefined) this.o.book.ban(listen)
    this.peers.get(address)?.close('banned: sent bad data')
    this.closeAll('banned: sent bad data', remoteId)
  }

  /**
   * Close `p` when it sent no message since its handshake for the
   * first-message deadline (policy/admission.ts), or when neither side is
   * interested and it said nothing useful for `timeout` ms (policy/idle.ts).
   */
  closeIfIdle(p: Peer, now: number, timeout: number): void {
    if (p.closed) return
    if (p.ready && firstMessageVerdict(p.readyAt, p.wire.firstMessageAt || undefined, now, this.limits) === 'close') {
      p.close(`silent: no message in ${Math.round((now - p.readyAt) / 1000)} s after its handshake`)
      return
    }
    const verdict = idleVerdict({ amInterested: p.wire.amInterested, peerInterested: p.wire.peerInterested, lastUsefulAt: p.lastUsefulAt }, now, timeout)
    if (verdict === 'busy') p.useful(now)
    else if (verdict === 'idle') p.close(`idle: nothing useful for ${Math.round((now - p.lastUsefulAt) / 1000)} s and neither side interested`)
  }

  /** Stop PEX and close every peer. */
  stop(reason: string): void {
    this.pex?.destroy()
    this.closeAll(reason)
  }

  /** Close every peer, and every peer known by `remoteId` if given. */
  closeAll(reason: string, remoteId?: string): void {
    for (const p of [...this.peers.values()]) if (remoteId === undefined || p.remoteId === remoteId) p.close(reason)
  }

  /** The hash exchanges (BEP 52) of the handshaken peers. */
  hashExchanges(): HashExchange[] {
    const out: HashExchange[] = []
    for (const p of this.peers.values()) {
      const x = p.ready && !p.closed ? this.exchanges.get(p.wire) : undefined
      if (x !== undefined) out.push(x)
    }
    return out
  }

  /** What the admission policy sees of each handshaken peer. */
  private views(): AdmissionPeerView[] {
    const out: AdmissionPeerView[] = []
    for (const p of this.peers.values()) {
      if (!p.ready || p.closed) continue
      out.push({
        id: p.address,
        host: bareHost(p.address.slice(0, p.address.lastIndexOf(':'))),
        connectedAt: p.readyAt,
        amInterested: p.wire.amInterested,
        peerInterested: p.wire.peerInterested,
        saidSomethingUseful: p.saidSomethingUseful
      })
    }
    return out
  }

  private hasRoom(): boolean {
    return this.peers.size < this.o.ctx.maxConnsPerTorrent && this.o.ctx.canConnect()
  }

  /** The options of every Peer of this torrent (dialled: `dialled` is its address; incoming: `remoteHost`), with our side of its handshake. */
  private options(source: PeerSource, address: string, remoteHost: string | undefined, dialled: string | null, hs: OurHandshake, adopted = false): PeerOptions {
    return {
      infoHash: hs.infoHash,
      peerId: this.o.ctx.peerId,
      pieceCount: this.o.meta.pieceCount,
      source,
      address,
      handler: this.o.handler,
      dht: this.dht,
      v2: hs.v2Bit,
      speaksV2: hs.speaksV2,
      ...(hs.upgradeKey !== undefined ? { infoHashV2: hs.upgradeKey } : {}),
      ...(this.o.ctx.now !== undefined ? { now: this.o.ctx.now } : {}),
      extend: (w) => this.setupWire(w, address, remoteHost, dialled, adopted)
    }
  }

  /**
   * BEP 10 set-up of a new wire, before our handshake: ut_metadata and `p`,
   * then ut_pex, the DHT port, and for an incoming wire its listen address
   * once its extended handshake names it. An adopted wire carries our extensions
   * already (its extended handshake went out); this torrent's PEX takes over
   * its ut_pex by name, so the id we announced stays valid.
   */
  private setupWire(wire: CappedWire, address: string, remoteHost: string | undefined, dialled: string | null, adopted: boolean): void {
    if (!adopted) useWireExtensions(wire, { info: () => this.o.meta.infoBytes, port: this.o.ctx.port, requestQueue: MAX_UPLOAD_QUEUE })
    this.pex?.attach(wire as unknown as PexWire, remoteHost, dialled)
    // Where a peer that dialled us listens (the first extended handshake's `p`): for the book, to redial it later.
    if (dialled === null && remoteHost !== undefined) {
      wire.on('extended', (name: string, body: unknown) => { if (name === 'handshake') this.listenedAt(wire, address, remoteHost, body) })
    }
    // BEP 52 hash requests are answered from our piece layers (hash reject for what we do not hold).
    const { pieceLength, v2 } = this.o.meta
    this.serveHashes ??= (pieceLength === undefined ? null : hashServer({ pieceLength, v2 }, this.o.readPiece)) ?? (() => null)
    this.exchanges.set(wire, new HashExchange(wire, { serve: this.serveHashes, v2Swarm: this.o.meta.version === 'v2' }))
    // BEP 5: a peer's PORT message names its DHT node (on the host we are connected to).
    const host = remoteHost ?? (dialled === null ? undefined : bareHost(dialled.slice(0, dialled.lastIndexOf(':'))))
    if (this.dht && host !== undefined) wire.on('port', (p: number) => this.o.ctx.dhtNode?.(host, p))
  }
}
