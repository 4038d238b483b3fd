// Local declaration for bittorrent-dht 11 (no published types): only what lib/engine/discovery uses.
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events'

  interface DHTNode { host: string; port: number; id?: Uint8Array }

  interface DHTOptions {
    /** false: no bootstrap; an array: these nodes (omit it and the public routers are used). */
    bootstrap?: false | Array<string | { host: string; port: number }>
    /** Our address, used when we announce ourselves into our own peer store. */
    host?: string
    nodeId?: Uint8Array | string
    timeBucketOutdated?: number
    maxAge?: number
  }

  class DHT extends EventEmitter {
    constructor(opts?: DHTOptions)
    readonly listening: boolean
    readonly destroyed: boolean
    readonly nodeId: Uint8Array
    listen(port?: number, address?: string, onlistening?: () => void): void
    address(): { address: string; family: string; port: number }
    addNode(node: DHTNode): void
    removeNode(id: Uint8Array | string): void
    lookup(infoHash: Uint8Array | string, cb?: (err: Error | null, nodesVisited?: number) => void): () => void
    announce(infoHash: Uint8Array | string, port: number, cb?: (err: Error | null) => void): void
    toJSON(): { nodes: Array<{ host: string; port: number }>; values: Record<string, unknown> }
    destroy(cb?: () => void): void

    on(event: 'peer', fn: (peer: { host: string; port: number }, infoHash: Uint8Array, from: DHTNode | null) => void): this
    on(event: 'announce', fn: (peer: { host: string; port: number }, infoHash: Uint8Array) => void): this
    /** A node asked us for peers of `infoHash` (we are a DHT node others query). */
    on(event: 'get_peers', fn: (infoHash: Uint8Array) => void): this
    on(event: 'warning' | 'error', fn: (err: unknown) => void): this
    on(event: 'ready' | 'listening' | 'close', fn: () => void): this
    on(event: 'node', fn: (node: DHTNode) => void): this
    once(event: 'ready' | 'listening' | 'close', fn: () => void): this
    once(event: 'error', fn: (err: unknown) => void): this
  }

  export default DHT
}
