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
import { Bitfield } from './bitfield.ts'
import { RateMeter } from '../policy/rate-meter.ts'
import { pushRaw, queuedOutput } from './protocol-internals.ts'
import { CappedWire, BODY_STALL_TIMEOUT, MIN_BODY_RATE } from './capped-wire.ts'
import type { PeerHandler, PeerOptions } from './peer-handler.ts'
import { RaceSocket, type PeerSocket, type Transport } from './transport.ts'
import { newPipeline, peerQueueBound, pipelineBlock, pipelineSecond, pipelineTimeout } from '../policy/pipeline.ts'
import { FastRejects } from './allowed-fast.ts'

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

/** Largest block a peer may request from us (clients ask for 16 KiB). */
export const MAX_REQUEST = 128 * 1024

/** Request pipeline bounds (policy/pipeline.ts). */
export { MIN_DEPTH, START_DEPTH, MAX_DEPTH } from '../policy/pipeline.ts'

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
  // Connection and pipeline state: read through the getters below, changed
  // only by this class's own verbs (so every rule about it lives here).
  private _remoteId: string | null = null
  private _ready = false
  private _readyAt = 0
  private _closed = false
  private _inflight = 0
  private pipeline = newPipeline()
  /** The peer's own bound on queued requests (its `reqq`; policy/pipeline.ts). */
  private queueBound = Infinity
  private _redialAtOnce = false
  private refusalJudge: (() => boolean) | null = null
  private _lastBlockAt = Date.now()
  private _timeouts = 0
  private _lastUsefulAt = Date.now()
  private _trusted = false
  private _unverified = 0
  private _downloaded = 0
  private _lateAllowance = 0
  private _unrequested = 0
  private _uploaded = 0
  private _rejects = 0
  private readonly handler: PeerHandler
  private handshakeTimer: NodeJS.Timeout | null = null
  private bodyTimer: NodeJS.Timeout | null = null
  private gotBitfield = false
  /** BEP 6 Suggest Piece hints, newest last (a few at most): the picker may prefer them. */
  readonly suggested: number[] = []
  /** What its Rejects mean: answers to our cancels, or allowed-fast pieces to ask again later (BEP 6). */
  private readonly fastRejects = new FastRejects()

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
    this.wire.speaksV2 = opts.speaksV2 === true
    opts.extend?.(this.wire)
    socket.setNoDelay?.(true)
    socket.on('error', (e: Error) => this.close(`socket: ${e.message}`))
    socket.on('close', () => this.close('socket closed'))
    this.wire.on('error', (e: Error) => this.close(`wire: ${e.message}`))
    this.wire.on('close', () => this.close('wire closed'))
    this.wire.on('end', () => this.close('wire ended'))
    this.wire.on('oversize', (n: number) => this.close(`message of ${n} bytes exceeds the cap`))
    this.wire.on('malformed', (id: number, n: number) => this.close(`message id ${id} of wrong length ${n}`))
    this.wire.on('protocol-error', (reason: string) => this.close(reason))
    this.handshakeTimer = setTimeout(() => this.close('handshake timeout'), opts.handshakeTimeout ?? 20000)
    this.handshakeTimer.unref?.()
    const stall = opts.bodyStallTimeout ?? BODY_STALL_TIMEOUT
    this.bodyTimer = setInterval(() => this.checkBody(stall), Math.min(1000, stall / 4))
    this.bodyTimer.unref?.()
    this.listen()
  }

  /** Remote peer id (hex), once the handshake arrived. */
  get remoteId(): string | null {
    return this._remoteId
  }

  /** The handshake is done (and the peer is not ourselves). */
  get ready(): boolean {
    return this._ready
  }

  /** When the handshake completed (ms since the epoch; 0 before). */
  get readyAt(): number {
    return this._readyAt
  }

  get closed(): boolean {
    return this._closed
  }

  /** Requests we have outstanding with this peer. */
  get inflight(): number {
    return this._inflight
  }

  /** Target number of outstanding requests: adapted to the peer's rate, never past the peer's `reqq`. */
  get depth(): number {
    return Math.min(this.pipeline.depth, this.queueBound)
  }

  /** Last time a requested block arrived, or we (re)started waiting. */
  get lastBlockAt(): number {
    return this._lastBlockAt
  }

  /** Consecutive request timeouts. */
  get timeouts(): number {
    return this._timeouts
  }

  /**
   * Last time the peer said something useful (handshake, bitfield, new have,
   * accepted block) or either side was interested: the idle rule (idle.ts).
   */
  get lastUsefulAt(): number {
    return this._lastUsefulAt
  }

  /**
   * False until a piece this peer helped with passes its hash check (and
   * again after a bad one): an untrusted peer may hold only a couple of
   * pieces' worth of unverified data, so a liar costs little before its ban.
   */
  get trusted(): boolean {
    return this._trusted
  }

  /** Accepted bytes from this peer in pieces not yet verified. */
  get unverified(): number {
    return this._unverified
  }

  /** Bytes this peer delivered that we accepted. */
  get downloaded(): number {
    return this._downloaded
  }

  /** Payload bytes we sent it. */
  get uploaded(): number {
    return this._uploaded
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
    return this._ready && !this._closed && this.bits.get(piece)
  }

  /** Both ends offered the BEP 6 fast extension. */
  get fast(): boolean {
    return this.wire.hasFast
  }

  /**
   * We may ask for `piece` now: the peer unchokes us, or it chokes us but
   * gave `piece` in its allowed-fast set and did not just reject it (BEP 6).
   */
  mayRequest(piece: number): boolean {
    if (!this.wire.peerChoking) return true
    return this.wire.hasFast && this.wire.peerAllowedFastSet.includes(piece) && this.fastRejects.mayAsk(piece, (this.opts.now ?? Date.now)())
  }

  /** True when the peer has every piece. */
  isSeed(): boolean {
    return this.bits.all()
  }

  /** Send our handshake. */
  sendHandshake(): void {
    this.wire.handshake(this.opts.infoHash, this.opts.peerId, { dht: this.opts.dht === true, fast: this.opts.fast !== false, v2: this.opts.v2 === true })
  }

  /** Complete a connection whose handshake was read elsewhere (the listener, or a magnet's metadata phase that also sent ours: `send` false). */
  acceptHandshake(remoteId: string, send = true): void {
    if (send) this.sendHandshake()
    this.handshakeDone(remoteId)
  }

  private handshakeDone(remoteId: string): void {
    if (this._closed || this._ready) return
    if (remoteId === this.opts.peerId) {
      this.close('connected to ourselves')
      return
    }
    this._remoteId = remoteId
    this._ready = true
    this._readyAt = this._lastUsefulAt = Date.now()
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer)
    this.handshakeTimer = null
    this.wire.setKeepAlive(true)
    this.handler.onReady(this)
  }

  private listen(): void {
    const w = this.wire
    const h = this.handler
    w.on('handshake', (infoHash: string, peerId: string) => {
      if (this._ready) return
      // BEP 52: the answer names the hybrid's v2 hash when the peer took our v2 bit as an offer to upgrade.
      const upgraded = infoHash === this.opts.infoHashV2
      if (infoHash !== this.opts.infoHash && !upgraded) return this.close('wrong infohash')
      if (upgraded) this.wire.speaksV2 = true
      this.handshakeDone(peerId)
    })
    w.on('extended', (name: string, body: unknown) => { if (name === 'handshake') this.queueBound = peerQueueBound(body) })
    w.on('bitfield', (bits: { buffer: Uint8Array }) => {
      const parsed = Bitfield.fromBytes(bits.buffer, this.opts.pieceCount)
      if (!parsed) return this.close('malformed bitfield')
      // BEP 3 wants the bitfield first and once, but aria2c 1.36 sends haves
      // first and then a full bitfield again now and then (seen on loopback):
      // take each one as a replacement, and the torrent fixes availability.
      const previous = this.gotBitfield || this.bits.count() > 0 ? this.bits.clone() : null
      this.gotBitfield = true
      this._lastUsefulAt = Date.now()
      for (let i = 0; i < this.opts.pieceCount; i++) this.bits.set(i, parsed.get(i))
      h.onBitfield(this, previous)
    })
    // BEP 6: Have All / Have None stand for a bitfield (the library accepts them only with the fast extension on).
    const whole = (all: boolean): void => {
      const previous = this.gotBitfield || this.bits.count() > 0 ? this.bits.clone() : null
      this.gotBitfield = true
      this._lastUsefulAt = Date.now()
      for (let i = 0; i < this.opts.pieceCount; i++) this.bits.set(i, all)
      h.onBitfield(this, previous)
    }
    w.on('have-all', () => whole(true))
    w.on('have-none', () => whole(false))
    w.on('reject', (index: number, offset: number, length: number) => {
      if (this.closed || this.fastRejects.answersCancel(index, offset, length)) return
      if (this.wire.peerChoking) this.fastRejects.refused(index, (this.opts.now ?? Date.now)())
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
      this._lastUsefulAt = Date.now()
      h.onHave(this, index)
    })
    w.on('choke', () => {
      // Without the fast extension a choke discards every request we made;
      // with it, each is either served or rejected (onReject).
      if (!this.wire.hasFast) this.forgetRequests()
      h.onChoke(this)
    })
    w.on('unchoke', () => {
      this.fastRejects.unchoked()
      h.onUnchoke(this)
    })
    w.on('interested', () => h.onInterested(this))
    w.on('uninterested', () => h.onUninterested(this))
    w.on('piece', (index: number, offset: number, data: Uint8Array) => {
      if (this._closed) return
      this.fastRejects.answersCancel(index, offset, data.length)
      // inflight drops only when the torrent accepts the block (Peer.accepted).
      h.onBlock(this, index, offset, data)
    })
    w.on('request', (index, offset, length, respond) => {
      if (this._closed) return
      h.onRequest(this, index, offset, length, respond)
    })
    w.on('upload', (n: number) => {
      this._uploaded += n
      this.up.add(n)
    })
  }

  /**
   * Ask for blocks; answers arrive through onBlock. All requests of a batch
   * leave in one buffer (one socket write): per-request writes cost a syscall
   * each and were the largest item in a download's CPU profile.
   */
  requestMany(reqs: readonly { piece: number; offset: number; length: number }[]): void {
    if (reqs.length === 0 || this._closed) return
    if (this._inflight === 0) this._lastBlockAt = Date.now()
    this._inflight += reqs.length
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
    this._lateAllowance += this._inflight
    this._inflight = 0
  }

  /** Requests of ours the peer rejected (BEP 6). */
  get rejects(): number {
    return this._rejects
  }

  /** The peer rejected one of our requests (BEP 6): it no longer counts as in flight. */
  rejected(): void {
    this._rejects++
    if (this._inflight > 0) this._inflight--
  }

  /** Withdraw a request. */
  cancel(piece: number, offset: number, length: number): void {
    if (this._closed) return
    if (this._inflight > 0) this._inflight--
    this._lateAllowance++
    if (this.wire.hasFast) this.fastRejects.cancelled(piece, offset, length)
    this.wire.cancel(piece, offset, length)
  }

  /**
   * A block from this peer was refused. Returns true when the peer has sent
   * more than `limit` blocks nobody asked it for (late answers to requests we
   * withdrew are forgiven).
   */
  refused(limit: number): boolean {
    if (this._lateAllowance > 0) this._lateAllowance--
    else this._unrequested++
    return this._unrequested > limit
  }

  /** Bytes queued in the wire and the socket for this peer, not yet on the network (reads in progress are the upload queue's). */
  outgoingBytes(): number {
    return queuedOutput(this.wire) + this.socket.writableLength
  }

  /** Count a requested block as delivered (in slow start the pipeline grows by one: policy/pipeline.ts). */
  delivered(bytes: number): void {
    if (this._inflight > 0) this._inflight--
    this._downloaded += bytes
    this.down.add(bytes)
    this._lastBlockAt = this._lastUsefulAt = Date.now()
    this._timeouts = 0
    this.pipeline = pipelineBlock(this.pipeline)
  }

  /** Re-size the pipeline from the measured rate (called on the torrent's tick). */
  adapt(): void {
    this.pipeline = pipelineSecond(this.pipeline, this.down.rate(), 16384)
  }

  /** We start waiting for blocks at `now` (it unchoked us): the request timeout counts from here. */
  waitFrom(now: number): void {
    this._lastBlockAt = now
  }

  /** `bytes` of an accepted block count against this peer until their piece is checked. */
  holdUnverified(bytes: number): void {
    this._unverified += bytes
  }

  /** A piece it sent `bytes` of was checked: those bytes are settled, and it is trusted if the piece was good. */
  pieceChecked(bytes: number, ok: boolean): void {
    this._unverified = Math.max(0, this._unverified - bytes)
    this._trusted = ok
  }

  /**
   * Its outstanding requests timed out at `now` (the caller withdrew them):
   * the pipeline shrinks to its least depth. Returns the timeouts in a row.
   */
  timedOut(now: number): number {
    this.forgetRequests()
    this.pipeline = pipelineTimeout(this.pipeline)
    this._lastBlockAt = now
    return ++this._timeouts
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
    this._lastUsefulAt = now
  }

  /** The transport the connection runs over (a raced dial: the one that won; TCP until then). */
  get transport(): Transport {
    if (this.socket instanceof RaceSocket) return this.socket.transport ?? 'tcp'
    return this.socket instanceof net.Socket ? 'tcp' : 'utp'
  }

  /** Whether the address may be dialled again at once (the handshake it was opened with is retried another way). */
  get redialAtOnce(): boolean {
    return this._redialAtOnce
  }

  /**
   * `judge` runs when the connection closes before its handshake completes,
   * whatever closed it; true asks for an immediate redial (the dialler retries
   * a refused obfuscated handshake in plaintext).
   */
  onRefused(judge: () => boolean): void {
    this.refusalJudge = judge
  }

  /** Close the connection (idempotent); the handler hears onClose once. */
  close(reason: string): void {
    if (this._closed) return
    this._closed = true
    if (!this._ready && this.refusalJudge?.() === true) this._redialAtOnce = true
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

export type { PeerHandler, PeerOptions } from './peer-handler.ts'
export { MAX_MESSAGE, BODY_STALL_TIMEOUT, MIN_BODY_RATE, incomingWire, newCappedWire, type CappedWire } from './capped-wire.ts'
