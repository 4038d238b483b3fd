// Local declaration for bittorrent-protocol 5.x (the published @types package is far behind).
// Shared file: engine-core and the test harness extend it; keep it to what the code uses.
declare module 'bittorrent-protocol' {
  import { Duplex } from 'node:stream'

  interface WireBitField {
    get(i: number): boolean
    set(i: number, v?: boolean): void
    buffer: Uint8Array
  }

  interface WireRequest {
    piece: number
    offset: number
    length: number
  }

  class Wire extends Duplex {
    /** peEnabled: 0 no MSE, 1 MSE with plaintext allowed (and preferred), 2 MSE with RC4 only. */
    constructor(type?: string, peEnabled?: number)
    /** Start the MSE handshake as initiator (outgoing wires with peEnabled set). */
    startEncryption(infoHash: string): void
    /** Responder: the torrent a peer's obfuscated handshake named (after 'crypto-infohash'). */
    setInfoHash(infoHash: string): void
    peerId: string | null
    peerIdBuffer: Uint8Array | null
    type: string
    amChoking: boolean
    amInterested: boolean
    peerChoking: boolean
    peerInterested: boolean
    peerPieces: WireBitField
    peerExtensions: Record<string, boolean>
    extensions: Record<string, boolean>
    requests: WireRequest[]
    peerRequests: WireRequest[]
    uploaded: number
    downloaded: number
    destroyed: boolean
    setKeepAlive(enable: boolean): void
    setTimeout(ms: number, unref?: boolean): this
    handshake(infoHash: string | Uint8Array, peerId: string | Uint8Array, extensions?: Record<string, boolean>): void
    choke(): void
    unchoke(): void
    interested(): void
    uninterested(): void
    have(index: number): void
    bitfield(bitfield: Uint8Array | { buffer: Uint8Array }): void
    request(index: number, offset: number, length: number, cb?: (err: Error | null, block?: Uint8Array) => void): void
    piece(index: number, offset: number, buffer: Uint8Array): void
    cancel(index: number, offset: number, length: number): void
    keepAlive(): void
    // BEP 10 extension protocol (added by the discovery helper: ut_metadata, ut_pex).
    /** Our extended handshake before it is sent (the wire fills in `m`). */
    extendedHandshake: Record<string, unknown>
    /** The peer's extended handshake, once received. */
    peerExtendedHandshake: Record<string, unknown>
    /** Our message id -> extension name. */
    extendedMapping: Record<number, string>
    /** The peer's extension name -> its message id. */
    peerExtendedMapping: Record<string, number>
    /** Register an extension class (named on its prototype); must be called before handshake(). */
    use(Extension: { new (wire: Wire): object; prototype: { name: string } }): void
    /** Send an extended message by the peer's id or by extension name. */
    extended(ext: number | string, payload: Uint8Array | object): void
    destroy(err?: Error): this
    end(): this
    // Added by the test harness: BEP 5 port, BEP 6 fast extension, counters and speeds.
    /** BEP 6 negotiated (both sides set the fast bit). */
    hasFast: boolean
    /** Pieces we allow the peer to request while choked (BEP 6). */
    allowedFastSet: number[]
    /** Pieces the peer allows us to request while choked (BEP 6). */
    peerAllowedFastSet: number[]
    /** Bytes per second over the last seconds (a `throughput` meter: call to read, or with a delta to record). */
    uploadSpeed: (delta?: number) => number
    downloadSpeed: (delta?: number) => number
    /** BEP 5: our DHT port. */
    port(port: number): void
    /** BEP 6 messages. */
    suggest(index: number): void
    haveAll(): void
    haveNone(): void
    reject(index: number, offset: number, length: number): void
    allowedFast(index: number): void
    /** Sets the infohash for an incoming encrypted (MSE) connection. */
    setInfoHash(infoHash: string | Uint8Array): void

    on(event: 'choke' | 'unchoke' | 'interested' | 'uninterested' | 'keep-alive' | 'timeout' | 'have-all' | 'have-none' | 'close' | 'finish' | 'end', fn: () => void): this
    on(event: 'suggest' | 'allowed-fast', fn: (index: number) => void): this
    on(event: 'reject', fn: (index: number, offset: number, length: number) => void): this
    on(event: 'port', fn: (port: number) => void): this
    /** 'handshake' with the peer's extended handshake, or an extension's name (or unknown id) with its payload. */
    on(event: 'extended', fn: (ext: string | number, payload: any) => void): this
    on(event: 'upload' | 'download', fn: (bytes: number) => void): this
    on(event: 'unknownmessage', fn: (buffer: Uint8Array) => void): this
    on(event: 'error', fn: (err: Error) => void): this

    on(event: 'handshake', fn: (infoHash: string, peerId: string, extensions: Record<string, boolean>) => void): this
    on(event: 'bitfield', fn: (bits: WireBitField) => void): this
    on(event: 'have', fn: (index: number) => void): this
    on(event: 'piece', fn: (index: number, offset: number, buffer: Uint8Array) => void): this
    on(
      event: 'request',
      fn: (index: number, offset: number, length: number, respond: (err: Error | null, buf?: Uint8Array) => void) => void
    ): this
    on(event: 'cancel', fn: (index: number, offset: number, length: number) => void): this
    on(event: string, fn: (...args: any[]) => void): this
    once(event: string, fn: (...args: any[]) => void): this
  }

  export default Wire
}
