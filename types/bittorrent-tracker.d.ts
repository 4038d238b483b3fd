// Minimal declarations for bittorrent-tracker 11.0.2 (pinned; the package ships no types).
// Covers the Node client (HTTP/UDP announce) and server as used by this project.
declare module 'bittorrent-tracker' {
  import { EventEmitter } from 'node:events'
  import type { Server as HttpServer } from 'node:http'
  import type { Socket as UdpSocket } from 'node:dgram'

  export interface AnnounceOptions {
    uploaded?: number
    downloaded?: number
    left?: number
    numwant?: number
    [key: string]: unknown
  }

  export interface ClientOptions {
    /** 40 hex digits or 20 bytes. */
    infoHash: string | Uint8Array
    /** 40 hex digits or 20 bytes. */
    peerId: string | Uint8Array
    announce: string | string[]
    /** Our listening port (required in Node). */
    port: number
    /** Called before each announce to supply uploaded/downloaded/left. */
    getAnnounceOpts?: () => AnnounceOptions
    userAgent?: string
    proxyOpts?: unknown
    [key: string]: unknown
  }

  export interface AnnounceResponse {
    announce: string
    infoHash: string
    complete?: number
    incomplete?: number
    interval?: number
    [key: string]: unknown
  }

  export interface ScrapeResponse {
    announce: string
    infoHash: string
    complete: number
    incomplete: number
    downloaded: number
    [key: string]: unknown
  }

  export class Client extends EventEmitter {
    constructor (opts: ClientOptions)
    readonly peerId: string
    readonly infoHash: string
    destroyed: boolean
    start (opts?: AnnounceOptions): void
    stop (opts?: AnnounceOptions): void
    complete (opts?: AnnounceOptions): void
    update (opts?: AnnounceOptions): void
    scrape (opts?: AnnounceOptions): void
    setInterval (intervalMs: number): void
    destroy (cb?: (err?: Error | null) => void): void
    /** Peers arrive as "ip:port" strings (HTTP/UDP trackers). */
    on (event: 'peer', listener: (addr: string) => void): this
    on (event: 'update', listener: (data: AnnounceResponse) => void): this
    on (event: 'scrape', listener: (data: ScrapeResponse) => void): this
    on (event: 'warning' | 'error', listener: (err: Error) => void): this
    on (event: string, listener: (...args: any[]) => void): this
    static scrape (opts: { infoHash: string | string[], announce: string }, cb: (err: Error | null, data: ScrapeResponse | Record<string, ScrapeResponse>) => void): void
  }

  /** Parameters of an announce as the server parsed them. */
  export interface ServerAnnounceParams {
    info_hash: string
    peer_id: string
    port: number
    left: number
    event?: string
    ip: string
    /** "ip:port" */
    addr: string
    type: 'http' | 'udp' | 'ws'
    [key: string]: unknown
  }

  export interface ServerOptions {
    /** Announce interval given to clients, ms (default 10 min). */
    interval?: number
    trustProxy?: boolean
    http?: boolean | object
    udp?: boolean | object
    ws?: boolean | object
    stats?: boolean
    /** Calls cb(null) to allow the announce, cb(err) to refuse it. */
    filter?: (infoHash: string, params: ServerAnnounceParams, cb: (err?: Error | null) => void) => void
    peersCacheLength?: number
    peersCacheTtl?: number
  }

  export interface Swarm {
    infoHash: string
    complete: number
    incomplete: number
    peers: { keys: string[], get (key: string): unknown, length: number }
  }

  export class Server extends EventEmitter {
    constructor (opts?: ServerOptions)
    http: HttpServer | null
    udp4: UdpSocket | null
    udp6: UdpSocket | null
    udp: UdpSocket | null
    ws: unknown
    listening: boolean
    destroyed: boolean
    intervalMs: number
    torrents: Record<string, Swarm>
    /** port: one for all, or per protocol; hostname: one for all, or per protocol (keys http, udp, udp6). */
    listen (port?: number | { http?: number, udp?: number }, hostname?: string | { http?: string, udp?: string, udp6?: string }, onlistening?: () => void): void
    close (cb?: (err?: Error | null) => void): void
    on (event: 'start' | 'complete' | 'update' | 'stop' | 'pause', listener: (addr: string, params: ServerAnnounceParams) => void): this
    on (event: 'error' | 'warning', listener: (err: Error) => void): this
    on (event: 'listening', listener: () => void): this
    on (event: string, listener: (...args: any[]) => void): this
  }

  export default Client
}
