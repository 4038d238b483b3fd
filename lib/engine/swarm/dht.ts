/**
 * BEP 5 DHT over `bittorrent-dht` 11: find peers for an infohash and announce
 * ourselves, with the routing table saved to and reloaded from a file.
 *
 * There is deliberately no implicit bootstrap list: the library's default is
 * the public routers, so every caller names its bootstrap nodes (the engine
 * passes {@link PUBLIC_BOOTSTRAP} in production, tests a node of their own on
 * 127.0.0.1). bittorrent-dht 11 does not filter loopback or private addresses
 * (checked: an all-127.0.0.1 network works), so nothing needs undoing here.
 *
 * @module
 */
import { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { isIPv4 } from 'node:net'
import DHT from 'bittorrent-dht'
import { parseAddress } from './address.ts'
import { removeStaleTemps, writeFileAtomic } from '../disk/atomic-file.ts'
import { makeFolder } from '../disk/make-folder.ts'

/** The well-known public routers (what bittorrent-dht would use by default). For production only. */
export const PUBLIC_BOOTSTRAP: readonly string[] = Object.freeze([
  'router.bittorrent.com:6881',
  'router.utorrent.com:6881',
  'dht.transmissionbt.com:6881'
])

/** Saved routing table: contacts to ping on the next start. */
export interface DhtState {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
}

/** Options of {@link createDht}. */
export interface DhtOptions {
  /** "host:port" bootstrap nodes; required (an empty list makes a first, lone node). */
  readonly bootstrap: readonly string[]
  /** Address to bind the UDP socket to and to announce for ourselves (e.g. '127.0.0.1'; default '0.0.0.0'). */
  readonly host?: string
  /** UDP port (default 0: any free port). */
  readonly port?: number
  /** A routing table from {@link Dht.toState} or {@link loadDhtState}: its nodes are pinged and added. */
  readonly state?: DhtState | null
  /** Fixed node id (20 bytes, or 40 hex chars); default random. */
  readonly nodeId?: Uint8Array | string
}

/** A peer found for an infohash. */
export interface DhtPeer { readonly host: string; readonly port: number }

/** Events of a {@link Dht}. */
export interface DhtEvents {
  /** A peer for `infoHash` (40 hex chars), from any lookup running on this node. */
  peer: [peer: DhtPeer, infoHash: string]
  /** Non-fatal trouble (bad packets, timeouts). */
  warning: [err: Error]
}

/** A running DHT node. */
export interface Dht extends EventEmitter<DhtEvents> {
  /** Resolves once the socket listens and the first bootstrap round finished. */
  readonly ready: Promise<void>
  /** Our UDP port (0 before listening). */
  readonly port: number
  /** Number of nodes in the routing table. */
  readonly nodeCount: number
  /**
   * Look peers up for an infohash: they arrive as `peer` events; the promise
   * settles when the lookup finished (resolves with the number of nodes visited).
   */
  lookup(infoHash: string | Uint8Array): Promise<number>
  /** Add a node heard of outside the DHT (a peer's BEP 5 PORT message): it is pinged, then kept if it answers. */
  addNode(host: string, port: number): void
  /** Announce that we serve `infoHash` on TCP `port` (does a lookup first if needed). */
  announce(infoHash: string | Uint8Array, port: number): Promise<void>
  /** The routing table as plain data. */
  toState(): DhtState
  /** Write the routing table to `path` atomically (temp file, fsync, rename). */
  save(path: string): Promise<void>
  /** Close the socket and timers. Idempotent. */
  destroy(): Promise<void>
}

/**
 * Start a DHT node.
 *
 * @example
 * const dht = createDht({ bootstrap: ['127.0.0.1:6881'], host: '127.0.0.1', state: await loadDhtState(file) })
 * dht.on('peer', (peer, infoHash) => torrents.get(infoHash)?.addPeer(`${peer.host}:${peer.port}`, 'dht'))
 * await dht.ready
 * await dht.announce(infoHash, listenPort)
 * void dht.lookup(infoHash)
 * await dht.save(file); await dht.destroy()
 */
export function createDht (opts: DhtOptions): Dht {
  if (!Array.isArray(opts.bootstrap)) throw new TypeError('createDht: bootstrap must be given explicitly (no implicit public routers)')
  const bootstrap = opts.bootstrap.map(parseAddress).filter((n): n is { host: string; port: number } => n !== null)
  const bindHost = opts.host ?? '0.0.0.0'
  const announceHost = bindHost === '0.0.0.0' ? undefined : bindHost
  const dht = new DHT({
    bootstrap,
    ...(announceHost !== undefined ? { host: announceHost } : {}),
    ...(opts.nodeId !== undefined ? { nodeId: opts.nodeId } : {})
  })
  const events = new EventEmitter<DhtEvents>() as Dht
  let destroyed = false

  // Listen now, in the constructor's tick: bittorrent-dht bootstraps on the next tick and an
  // unbound socket would send from a random port on every interface.
  const listening = new Promise<void>((resolve, reject) => {
    dht.once('listening', () => resolve())
    dht.once('error', reject)
  })
  const bootstrapped = new Promise<void>(resolve => dht.once('ready', () => resolve()))
  dht.listen(opts.port ?? 0, bindHost)
  const ready = Promise.all([listening, bootstrapped]).then(() => {})
  ready.catch(() => {})

  dht.on('peer', (peer, infoHash) => {
    if (!isIPv4(peer.host) || !(peer.port > 0 && peer.port < 65536)) return
    events.emit('peer', { host: peer.host, port: peer.port }, Buffer.from(infoHash).toString('hex'))
  })
  dht.on('warning', (err) => { if (events.listenerCount('warning') > 0) events.emit('warning', toError(err)) })
  // After listening, socket errors are not fatal to the engine: report them as warnings.
  dht.on('error', (err) => { if (events.listenerCount('warning') > 0) events.emit('warning', toError(err)) })

  for (const node of opts.state?.nodes ?? []) {
    if (typeof node?.host === 'string' && isIPv4(node.host) && Number.isInteger(node.port) && node.port > 0 && node.port < 65536) {
      dht.addNode({ host: node.host, port: node.port })
    }
  }

  const hashArg = (h: string | Uint8Array): Buffer => typeof h === 'string' ? Buffer.from(h, 'hex') : Buffer.from(h)

  Object.defineProperties(events, {
    ready: { value: ready },
    port: { get: () => dht.listening ? dht.address().port : 0 },
    nodeCount: { get: () => dht.toJSON().nodes.length }
  })
  return Object.assign(events, {
    lookup: (infoHash: string | Uint8Array) => new Promise<number>((resolve, reject) => {
      if (destroyed) { reject(new Error('dht is destroyed')); return }
      dht.lookup(hashArg(infoHash), (err, n) => { if (err) reject(err); else resolve(n ?? 0) })
    }),
    announce: (infoHash: string | Uint8Array, port: number) => new Promise<void>((resolve, reject) => {
      if (destroyed) { reject(new Error('dht is destroyed')); return }
      dht.announce(hashArg(infoHash), port, (err) => { if (err) reject(err); else resolve() })
    }),
    addNode: (host: string, port: number) => {
      if (!destroyed && isIPv4(host) && Number.isInteger(port) && port > 0 && port < 65536) dht.addNode({ host, port })
    },
    toState: (): DhtState => ({ nodes: dht.toJSON().nodes.map(n => ({ host: n.host, port: n.port })) }),
    save: async (path: string) => saveDhtState(path, { nodes: dht.toJSON().nodes.map(n => ({ host: n.host, port: n.port })) }),
    destroy: () => new Promise<void>(resolve => {
      destroyed = true
      dht.destroy(() => resolve())
    })
  })
}

function toError (e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e))
}

/** Write a routing table atomically. */
export async function saveDhtState (path: string, state: DhtState): Promise<void> {
  await makeFolder(dirname(path))
  await removeStaleTemps(path)
  await writeFileAtomic(path, JSON.stringify({ nodes: state.nodes }))
}

/** Read a routing table written by {@link saveDhtState}; null if absent or unreadable (never throws). */
export async function loadDhtState (path: string): Promise<DhtState | null> {
  try {
    const data: unknown = JSON.parse(await readFile(path, 'utf8'))
    const nodes = (data as { nodes?: unknown }).nodes
    if (!Array.isArray(nodes)) return null
    return {
      nodes: nodes.filter((n): n is { host: string; port: number } =>
        typeof n === 'object' && n !== null && typeof n.host === 'string' && isIPv4(n.host) &&
        Number.isInteger(n.port) && n.port > 0 && n.port < 65536).slice(0, 1000)
    }
  } catch {
    return null
  }
}
