/**
 * One peer connection: a bittorrent-protocol Wire over a TCP socket, with the
 * checks the library leaves to us (message size cap, infohash and bitfield
 * validation, self-connection) and the per-peer request pipeline state.
 *
 * Block data never goes through streams here: the torrent controller gets
 * each block through a direct callback ({@link PeerHandler.onBlock}).
 *
 * @internal
 * @module
 */
// Kept in the emitted .d.ts, where tsc rewrites it to the package's types/ (shipped): consumers need these typings too.
/// <reference path="../../../types/bittorrent-protocol.d.ts" preserve="true" />
import net from 'node:net'
import Wire from 'bittorrent-protocol'
import { Bitfield } from './bitfield.ts'
import { RateMeter } from '../policy/rate-meter.ts'
import { feedWire, sharedRead } from './parser.ts'
import { hookWire, needsLibraryParser, pushRaw, queuedInput, queuedOutput } from './protocol-internals.ts'
import { RaceSocket, type DialTransports, type PeerSocket, type Transport } from './transport.ts'
import { peEnabledFor, type MsePolicy } from './mse-policy.ts'
import { openOutgoing } from './mse-outgoing.ts'

/**
 * Where we learnt of a peer (the keys of TorrentStats.peerSources).
 *
 * @example
 * ```ts
 * const source: PeerSource = 'pex'
 * const fromPex = (peers: PeerInfo[]) => peers.filter((p) => p.source === source)
 * ```
 */
export type PeerSource = 'tracker' | 'dht' | 'pex' | 'manual' | 'incoming' | 'lsd'

/** A peer address a torrent (or a magnet's metadata phase) may dial, with its redial state. @internal */
export interface KnownPeer {
  readonly host: string
  readonly port: number
  readonly source: PeerSource
  failures: number
  /** Not before this time (ms since the epoch). */
  nextTry: number
  connected: boolean
}

/**
 * Largest wire message we accept. A legal bitfield for 3.8 M pieces is 481 kB,
 * a 128 KiB block message is a little over 128 KiB: 1 MiB leaves room for both
 * and stops a peer from making us buffer an arbitrary length prefix.
 */
export const MAX_MESSAGE = 1 << 20

/** Largest block a peer may request from us (clients ask for 16 KiB). */
export const MAX_REQUEST = 128 * 1024

/** Request pipeline bounds: start shallow, deepen for fast peers. */
export const MIN_DEPTH = 16
export const START_DEPTH = 64
export const MAX_DEPTH = 384

/**
 * A message body pending longer than this (ms) must have arrived at
 * MIN_BODY_RATE on average, or the peer is closed: a trickled body would
 * otherwise hold up to MAX_MESSAGE of our memory for as long as the peer likes.
 */
export const BODY_STALL_TIMEOUT = 30000

/** Least average rate (bytes/s) of a pending message body past BODY_STALL_TIMEOUT. */
export const MIN_BODY_RATE = 1024

/** A Wire that drops the connection on an oversized length prefix or a message of the wrong length. */
class CappedWire extends Wire {
  maxMessage = MAX_MESSAGE
  /** When the body of the message being received started (0: none pending). */
  bodySince = 0
  /** When the peer's first message (keep-alives aside) arrived (0: none yet); the admission policy's first-message rule. */
  firstMessageAt = 0

  /** Bytes of the pending message received so far. */
  bodyReceived(): number {
    return queuedInput(this)
  }
}

hookWire(CappedWire, {
  // The library would otherwise wait for (and buffer) whatever length the peer announces.
  length: (wire, length) => {
    if (length > wire.maxMessage) {
      wire.emit('oversize', length)
      return false
    }
    wire.bodySince = length > 0 ? Date.now() : 0
    return true
  },
  // The library reads missing bytes of a short message as zeros (a 1-byte have would count as "have 0").
  message: (wire, buffer) => {
    wire.bodySince = 0
    if (wire.firstMessageAt === 0) wire.firstMessageAt = Date.now()
    const id = buffer[0]!
    const want = MESSAGE_LENGTH[id]
    const n = buffer.length
    if (want !== undefined && (want > 0 ? n !== want : n < -want)) {
      wire.emit('malformed', id, n)
      return false
    }
    return true
  },
  // Messages are sliced from the socket's chunks instead of copied (parser.ts).
  input: (wire, data) => feedWire(wire, data)
})

/**
 * Body length (id byte included) each message id must have: positive = exact,
 * negative = at least that many. Bitfield size is checked against the piece
 * count by the Peer; unknown ids pass (extensions may define them).
 */
const MESSAGE_LENGTH: Readonly<Record<number, number>> = {
  0: 1, // choke
  1: 1, // unchoke
  2: 1, // interested
  3: 1, // not interested
  4: 5, // have
  5: -1, // bitfield
  6: 13, // request
  7: -9, // piece
  8: 13, // cancel
  9: 3, // port
  0x0d: 5, // suggest (BEP 6)
  0x0e: 1, // have all
  0x0f: 1, // have none
  0x10: 13, // reject
  0x11: 5, // allowed fast
  20: -2 // extended
}

/** A peer's request waiting to be read from storage and sent. */
export interface UploadRequest {
  readonly piece: number
  readonly offset: number
  readonly length: number
  readonly respond: (err: Error | null, buf?: Uint8Array) => void
}

/** What a torrent hears from its peers. */
export interface PeerHandler {
  onReady(peer: Peer): void
  /** The peer's bitfield arrived; `previous` is what we knew before, when it replaces earlier news. */
  onBitfield(peer: Peer, previous: Bitfield | null): void
  onHave(peer: Peer, piece: number): void
  onChoke(peer: Peer): void
  onUnchoke(peer: Peer): void
  onInterested(peer: Peer): void
  onUninterested(peer: Peer): void
  /** A block arrived. `data` is valid only during the call (a view of a reused read or gather buffer): copy what you keep. */
  onBlock(peer: Peer, piece: number, offset: number, data: Uint8Array): void
  onRequest(peer: Peer, piece: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void): void
  onClose(peer: Peer, reason: string): void
  /** BEP 6: the peer will not serve this request of ours: ask someone else at once. */
  onReject?(peer: Peer, piece: number, offset: number, length: number): void
  /** BEP 6: the peer lets us request `piece` while it chokes us. */
  onAllowedFast?(peer: Peer, piece: number): void
}

export interface PeerOptions {
  readonly infoHash: string
  readonly peerId: string
  readonly pieceCount: number
  readonly source: PeerSource
  readonly address: string
  readonly handler: PeerHandler
  /** Give up on a connection that has not completed its handshake by then (ms). */
  readonly handshakeTimeout?: number
  /** See {@link BODY_STALL_TIMEOUT} (ms; tests shorten it). */
  readonly bodyStallTimeout?: number
  /** Set the BEP 5 DHT bit in our handshake (we run a DHT node). */
  readonly dht?: boolean
  /** Offer the BEP 6 fast extension in our handshake (default true); on when the peer offers it too. */
  readonly fast?: boolean
  /** Registers BEP 10 extensions on the wire; called before our handshake goes out. */
  readonly extend?: (wire: CappedWire) => void
}

/**
 * A connected (or connecting) peer of one torrent.
 */
export class Peer {
  readonly wire: CappedWire
  readonly bits: Bitfield
  readonly down = new RateMeter(3000)
  readonly up = new RateMeter(3000)
  readonly source: PeerSource
  readonly address: string
  /** Remote peer id (hex), once the handshake arrived. */
  remoteId: string | null = null
  ready = false
  /** When the handshake completed (ms since the epoch; 0 before). */
  readyAt = 0
  closed = false
  /** Requests we have outstanding with this peer. */
  inflight = 0
  /** Target number of outstanding requests; adapted to the peer's rate. */
  depth = START_DEPTH
  /** Last time a requested block arrived, or we (re)started waiting. */
  lastBlockAt = Date.now()
  /** Consecutive request timeouts. */
  timeouts = 0
  /**
   * Last time the peer said something useful (handshake, bitfield, new have,
   * accepted block) or either side was interested: the idle rule (idle.ts).
   */
  lastUsefulAt = Date.now()
  /**
   * False until a piece this peer helped with passes its hash check (and
   * again after a bad one): an untrusted peer may hold only a couple of
   * pieces' worth of unverified data, so a liar costs little before its ban.
   */
  trusted = false
  /** Accepted bytes from this peer in pieces not yet verified. */
  unverified = 0
  /** Bytes this peer delivered that we accepted (for tests and stats). */
  downloaded = 0
  /**
   * Blocks we withdrew or gave up on (cancel, choke, timeout) that may still
   * arrive: that many refused blocks are the network's lag, not the peer's fault.
   */
  lateAllowance = 0
  /** Blocks refused beyond the allowance (unrequested, duplicate, malformed). */
  unrequested = 0
  /** Upload requests waiting for a storage read (see Torrent.pumpUploads). */
  readonly uploadQueue: UploadRequest[] = []
  /** Bytes read (or being read) from storage for this peer, not yet handed to the wire. */
  uploadReading = 0
  /** A 'drain' listener is set to resume uploads. */
  awaitingDrain = false
  uploaded = 0
  private readonly handler: PeerHandler
  private handshakeTimer: NodeJS.Timeout | null = null
  private bodyTimer: NodeJS.Timeout | null = null
  private gotBitfield = false
  /** BEP 6 Suggest Piece hints, newest last (a few at most): the picker may prefer them. */
  readonly suggested: number[] = []
  /** Allowed-fast pieces the peer rejected anyway while choking us: not asked again until it unchokes. */
  private readonly rejectedWhileChoked = new Set<number>()

  constructor(
    readonly socket: PeerSocket,
    private readonly opts: PeerOptions,
    wire?: CappedWire
  ) {
    this.handler = opts.handler
    this.source = opts.source
    this.address = opts.address
    this.bits = new Bitfield(opts.pieceCount)
    this.wire = wire ?? new CappedWire(socket.remoteAddress ? 'tcpIncoming' : 'tcpOutgoing')
    if (!wire) socket.pipe(this.wire).pipe(socket)
    opts.extend?.(this.wire)
    socket.setNoDelay?.(true)
    socket.on('error', (e: Error) => this.close(`socket: ${e.message}`))
    socket.on('close', () => this.close('socket closed'))
    this.wire.on('error', (e: Error) => this.close(`wire: ${e.message}`))
    this.wire.on('close', () => this.close('wire closed'))
    this.wire.on('end', () => this.close('wire ended'))
    this.wire.on('oversize', (n: number) => this.close(`message of ${n} bytes exceeds the cap`))
    this.wire.on('malformed', (id: number, n: number) => this.close(`message id ${id} of wrong length ${n}`))
    this.handshakeTimer = setTimeout(() => this.close('handshake timeout'), opts.handshakeTimeout ?? 20000)
    this.handshakeTimer.unref?.()
    const stall = opts.bodyStallTimeout ?? BODY_STALL_TIMEOUT
    this.bodyTimer = setInterval(() => this.checkBody(stall), Math.min(1000, stall / 4))
    this.bodyTimer.unref?.()
    this.listen()
  }

  /** Close the peer if a message body has been trickling in too slowly for too long. */
  private checkBody(stall: number): void {
    const since = this.wire.bodySince
    if (since === 0) return
    const elapsed = Date.now() - since
    if (elapsed > stall && this.wire.bodyReceived() < (elapsed / 1000) * MIN_BODY_RATE)
      this.close(`message body trickled: ${this.wire.bodyReceived()} bytes in ${Math.round(elapsed / 1000)} s`)
  }

  /** Id used as the picker's peer id: unique per connection. */
  get id(): string {
    return this.address
  }

  has(piece: number): boolean {
    return this.bits.get(piece)
  }

  /** Handshaken, open, and it has `piece`. */
  servesPiece(piece: number): boolean {
    return this.ready && !this.closed && this.bits.get(piece)
  }

  /** Both ends offered the BEP 6 fast extension. */
  get fast(): boolean {
    return this.wire.hasFast
  }

  /**
   * We may ask for `piece` now: the peer unchokes us, or it chokes us but
   * gave `piece` in its allowed-fast set (BEP 6).
   */
  mayRequest(piece: number): boolean {
    if (!this.wire.peerChoking) return true
    return this.wire.hasFast && this.wire.peerAllowedFastSet.includes(piece) && !this.rejectedWhileChoked.has(piece)
  }

  /** True when the peer has every piece. */
  isSeed(): boolean {
    return this.bits.all()
  }

  /** Send our handshake. */
  sendHandshake(): void {
    this.wire.handshake(this.opts.infoHash, this.opts.peerId, { dht: this.opts.dht === true, fast: this.opts.fast !== false })
  }

  /** Complete an incoming connection whose handshake the listener already read. */
  acceptHandshake(remoteId: string): void {
    this.sendHandshake()
    this.handshakeDone(remoteId)
  }

  private handshakeDone(remoteId: string): void {
    if (this.closed || this.ready) return
    if (remoteId === this.opts.peerId) {
      this.close('connected to ourselves')
      return
    }
    this.remoteId = remoteId
    this.ready = true
    this.readyAt = this.lastUsefulAt = Date.now()
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer)
    this.handshakeTimer = null
    this.wire.setKeepAlive(true)
    this.handler.onReady(this)
  }

  private listen(): void {
    const w = this.wire
    const h = this.handler
    w.on('handshake', (infoHash: string, peerId: string) => {
      if (this.ready) return
      if (infoHash !== this.opts.infoHash) {
        this.close('wrong infohash')
        return
      }
      this.handshakeDone(peerId)
    })
    w.on('bitfield', (bits: { buffer: Uint8Array }) => {
      const parsed = Bitfield.fromBytes(bits.buffer, this.opts.pieceCount)
      if (!parsed) {
        this.close('malformed bitfield')
        return
      }
      // BEP 3 wants the bitfield first and once, but aria2c 1.36 sends haves
      // first and then a full bitfield again now and then (seen on loopback):
      // take each one as a replacement, and the torrent fixes availability.
      const previous = this.gotBitfield || this.bits.count() > 0 ? this.bits.clone() : null
      this.gotBitfield = true
      this.lastUsefulAt = Date.now()
      for (let i = 0; i < this.opts.pieceCount; i++) this.bits.set(i, parsed.get(i))
      h.onBitfield(this, previous)
    })
    // BEP 6: Have All / Have None stand for a bitfield (the library accepts them only with the fast extension on).
    const whole = (all: boolean): void => {
      const previous = this.gotBitfield || this.bits.count() > 0 ? this.bits.clone() : null
      this.gotBitfield = true
      this.lastUsefulAt = Date.now()
      for (let i = 0; i < this.opts.pieceCount; i++) this.bits.set(i, all)
      h.onBitfield(this, previous)
    }
    w.on('have-all', () => whole(true))
    w.on('have-none', () => whole(false))
    w.on('reject', (index: number, offset: number, length: number) => {
      if (this.closed) return
      if (this.wire.peerChoking) this.rejectedWhileChoked.add(index)
      h.onReject?.(this, index, offset, length)
    })
    w.on('allowed-fast', (index: number) => {
      if (this.closed || !Number.isInteger(index) || index < 0 || index >= this.opts.pieceCount) return
      h.onAllowedFast?.(this, index)
    })
    w.on('suggest', (index: number) => {
      if (!Number.isInteger(index) || index < 0 || index >= this.opts.pieceCount || this.suggested.includes(index)) return
      this.suggested.push(index)
      if (this.suggested.length > 8) this.suggested.shift()
    })
    w.on('have', (index: number) => {
      if (!Number.isInteger(index) || index < 0 || index >= this.opts.pieceCount) {
        this.close('have for a piece out of range')
        return
      }
      if (this.bits.get(index)) return
      this.bits.set(index)
      this.lastUsefulAt = Date.now()
      h.onHave(this, index)
    })
    w.on('choke', () => {
      // Without the fast extension a choke discards every request we made;
      // with it, each is either served or rejected (onReject).
      if (!this.wire.hasFast) this.forgetRequests()
      h.onChoke(this)
    })
    w.on('unchoke', () => {
      this.rejectedWhileChoked.clear()
      h.onUnchoke(this)
    })
    w.on('interested', () => h.onInterested(this))
    w.on('uninterested', () => h.onUninterested(this))
    w.on('piece', (index: number, offset: number, data: Uint8Array) => {
      if (this.closed) return
      // inflight drops only when the torrent accepts the block (Peer.accepted).
      h.onBlock(this, index, offset, data)
    })
    w.on('request', (index, offset, length, respond) => {
      if (this.closed) return
      h.onRequest(this, index, offset, length, respond)
    })
    w.on('upload', (n: number) => {
      this.uploaded += n
      this.up.add(n)
    })
  }

  /**
   * Ask for blocks; answers arrive through onBlock. All requests of a batch
   * leave in one buffer (one socket write): per-request writes cost a syscall
   * each and were the largest item in a download's CPU profile.
   */
  requestMany(reqs: readonly { piece: number; offset: number; length: number }[]): void {
    if (reqs.length === 0 || this.closed) return
    if (this.inflight === 0) this.lastBlockAt = Date.now()
    this.inflight += reqs.length
    const buf = Buffer.allocUnsafe(17 * reqs.length)
    let at = 0
    for (const r of reqs) {
      buf.writeUInt32BE(13, at)
      buf[at + 4] = 6
      buf.writeUInt32BE(r.piece, at + 5)
      buf.writeUInt32BE(r.offset, at + 9)
      buf.writeUInt32BE(r.length, at + 13)
      at += 17
    }
    // The wire's own request() would also track each request in an array it
    // scans per block; we track requests in the picker instead.
    pushRaw(this.wire, buf)
  }

  /** We gave up on every outstanding request (timeout) or the peer dropped them (choke). */
  forgetRequests(): void {
    this.lateAllowance += this.inflight
    this.inflight = 0
  }

  /** Requests of ours the peer rejected (BEP 6). */
  rejects = 0

  /** The peer rejected one of our requests (BEP 6): it no longer counts as in flight. */
  rejected(): void {
    this.rejects++
    if (this.inflight > 0) this.inflight--
  }

  /** Withdraw a request. */
  cancel(piece: number, offset: number, length: number): void {
    if (this.closed) return
    if (this.inflight > 0) this.inflight--
    this.lateAllowance++
    this.wire.cancel(piece, offset, length)
  }

  /**
   * A block from this peer was refused. Returns true when the peer has sent
   * more than `limit` blocks nobody asked it for (late answers to requests we
   * withdrew are forgiven).
   */
  refused(limit: number): boolean {
    if (this.lateAllowance > 0) this.lateAllowance--
    else this.unrequested++
    return this.unrequested > limit
  }

  /** Bytes of answers queued for this peer but not yet on the network. */
  outgoingBytes(): number {
    return queuedOutput(this.wire) + this.socket.writableLength + this.uploadReading
  }

  /**
   * Count a requested block as delivered and re-size the pipeline: aim for
   * about half a second of data in flight, so fast peers get deep queues
   * (the wire itself moves 1.7 GB/s with 256 in flight) and slow ones
   * do not hoard blocks.
   */
  delivered(bytes: number): void {
    if (this.inflight > 0) this.inflight--
    this.downloaded += bytes
    this.down.add(bytes)
    this.lastBlockAt = this.lastUsefulAt = Date.now()
    this.timeouts = 0
  }

  /** Re-size the pipeline from the measured rate (called on the torrent's tick). */
  adapt(): void {
    const want = Math.ceil((this.down.rate() * 0.5) / 16384)
    this.depth = Math.max(MIN_DEPTH, Math.min(MAX_DEPTH, Math.max(want, this.depth > START_DEPTH ? this.depth - 16 : START_DEPTH)))
  }

  /** We start waiting for blocks at `now` (it unchoked us): the request timeout counts from here. */
  waitFrom(now: number): void {
    this.lastBlockAt = now
  }

  /** `bytes` of an accepted block count against this peer until their piece is checked. */
  holdUnverified(bytes: number): void {
    this.unverified += bytes
  }

  /** A piece it sent `bytes` of was checked: those bytes are settled, and it is trusted if the piece was good. */
  pieceChecked(bytes: number, ok: boolean): void {
    this.unverified = Math.max(0, this.unverified - bytes)
    this.trusted = ok
  }

  /**
   * Its outstanding requests timed out at `now` (the caller withdrew them):
   * the pipeline shrinks to its least depth. Returns the timeouts in a row.
   */
  timedOut(now: number): number {
    this.forgetRequests()
    this.depth = MIN_DEPTH
    this.lastBlockAt = now
    return ++this.timeouts
  }

  /**
   * The peer told us something worth its slot at some time: its pieces (a
   * bitfield, even an empty one, or a have), a block we accepted, or its
   * interest (admission.ts ranks the others first for eviction).
   */
  get saidSomethingUseful(): boolean {
    return this.gotBitfield || this.downloaded > 0 || this.wire.peerInterested || this.bits.count() > 0
  }

  /** Either side is interested at `now`: the idle rule starts again. */
  useful(now: number): void {
    this.lastUsefulAt = now
  }

  /** The transport the connection runs over (a raced dial: the one that won; TCP until then). */
  get transport(): Transport {
    if (this.socket instanceof RaceSocket) return this.socket.transport ?? 'tcp'
    return this.socket instanceof net.Socket ? 'tcp' : 'utp'
  }

  /** Close the connection (idempotent); the handler hears onClose once. */
  close(reason: string): void {
    if (this.closed) return
    this.closed = true
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer)
    this.handshakeTimer = null
    if (this.bodyTimer) clearInterval(this.bodyTimer)
    this.bodyTimer = null
    this.wire.setKeepAlive(false)
    try {
      this.wire.destroy()
    } catch {
      // a wire in a bad state must not stop the close
    }
    this.socket.destroy()
    this.handler.onClose(this, reason)
  }
}

/**
 * Open an outgoing connection; the handshake is sent once TCP connects.
 *
 * @example
 * ```ts
 * const p = connectPeer('127.0.0.1', 6881, { infoHash, peerId, pieceCount, source: 'manual', address: '127.0.0.1:6881', handler })
 * ```
 */
export const connectPeer = (host: string, port: number, opts: PeerOptions): Peer => {
  const wire = new CappedWire('tcpOutgoing')
  // Reads go straight to the wire's parsers from one shared buffer (parser.ts).
  const socket = net.connect({ host, port, onread: sharedRead((view) => readInto(peer, view)) })
  const peer = new Peer(socket, opts, wire)
  wire.pipe(socket)
  socket.once('connect', () => {
    if (!peer.closed) peer.sendHandshake()
  })
  return peer
}

/** How {@link dialPeer} reaches a peer. */
export interface DialVia {
  readonly transports: DialTransports
  /** Outgoing encryption policy; null: plaintext handshakes only. */
  readonly mse: MsePolicy | null
}

/**
 * Open an outgoing connection raced over the transports of `via` (the first
 * to connect is kept), opened with the handshake `via.mse` picks for the
 * address; the outcome is reported back to the policy.
 *
 * @example
 * ```ts
 * const p = dialPeer('198.51.100.7', 6881, opts, { transports: { tcp: true, utp: endpoint }, mse: new MsePolicy('enabled') })
 * ```
 */
export const dialPeer = (host: string, port: number, opts: PeerOptions, via: DialVia): Peer => {
  const handshake = via.mse?.first(opts.address) ?? 'plaintext'
  const wire = new CappedWire('tcpOutgoing', peEnabledFor(handshake))
  const socket = new RaceSocket(host, port, via.transports, (view) => readInto(peer, view))
  const peer = new Peer(socket, opts, wire)
  wire.pipe(socket)
  socket.once('connect', () => {
    if (peer.closed) return
    openOutgoing(wire, handshake, {
      infoHash: opts.infoHash,
      peerId: opts.peerId,
      sendHandshake: () => peer.sendHandshake(),
      transport: socket,
      ...(opts.handshakeTimeout !== undefined ? { timeoutMs: opts.handshakeTimeout } : {})
    }).then(
      () => via.mse?.succeeded(opts.address, handshake),
      (e: Error) => {
        via.mse?.failed(opts.address, handshake, 'handshake')
        peer.close(e.message)
      }
    )
  })
  return peer
}

/** One socket read (a view valid only during the call) for the peer's wire. */
const readInto = (peer: Peer, view: Uint8Array): void => {
  if (peer.closed) return
  try {
    if (needsLibraryParser(peer.wire)) peer.wire.write(Buffer.from(view))
    else feedWire(peer.wire, view, true)
  } catch (e) {
    // What the stream pipe did: a throwing parser or handler ends this peer, not the process.
    peer.close(`wire: ${(e as Error).message}`)
  }
}

/**
 * Wrap an incoming socket whose handshake is read by the listener: returns the
 * wire (already piped) so the listener can learn the infohash first.
 */
export const incomingWire = (socket: PeerSocket, encryption = false): CappedWire => {
  // 1: accept MSE as well as plaintext handshakes, and prefer plaintext payload.
  const wire = new CappedWire('tcpIncoming', encryption ? 1 : 0)
  socket.pipe(wire).pipe(socket)
  return wire
}

/** Adopt an incoming connection for a torrent once its handshake is known. */
export const adoptIncoming = (socket: PeerSocket, wire: CappedWire, remoteId: string, opts: PeerOptions): Peer => {
  const peer = new Peer(socket, opts, wire)
  peer.acceptHandshake(remoteId)
  return peer
}

/** A wire with our message checks, not yet piped (for connections that are not a torrent's peers). */
export const newCappedWire = (type: 'tcpIncoming' | 'tcpOutgoing'): CappedWire => new CappedWire(type)

export type { CappedWire }
