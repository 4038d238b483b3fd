/**
 * An in-process `bittorrent-tracker` 11.0.2 server on 127.0.0.1, HTTP and UDP on one port,
 * recording every announce so tests can see started/completed/stopped events.
 * 11.0.2's listen() takes per-protocol hosts under the keys http / udp / udp6 (not udp4);
 * its IPv6 UDP socket is closed before listening, so the tracker works without IPv6.
 */
import { Server, type ServerAnnounceParams } from 'bittorrent-tracker'
import type { Socket as UdpSocket } from 'node:dgram'
import { freePort } from './ports.ts'
import { pollUntil } from './wait.ts'

/** One announce the tracker answered. */
export interface RecordedAnnounce {
  /** 'start' | 'complete' | 'update' | 'stop' | 'pause' (the server's event names). */
  readonly event: string
  readonly infoHash: string
  /** "ip:port" of the announcing peer. */
  readonly addr: string
  readonly left: number
  readonly type: string
  readonly at: number
}

/** A running embedded tracker. */
export interface EmbeddedTracker {
  readonly port: number
  /** `http://127.0.0.1:PORT/announce` */
  readonly httpAnnounce: string
  /** `udp://127.0.0.1:PORT` */
  readonly udpAnnounce: string
  /** Both URLs, HTTP first. */
  readonly announce: readonly string[]
  readonly server: Server
  /** Every announce answered so far, oldest first. */
  readonly announces: readonly RecordedAnnounce[]
  /** Peers ("ip:port") the tracker currently lists for an infohash (hex). */
  peers(infoHash: string): string[]
  /** Seeders / leechers counts for an infohash (0 when unknown). */
  counts(infoHash: string): { complete: number, incomplete: number }
  /** Resolves when at least `seeders` seeders are registered for the infohash. */
  waitForSeeders(infoHash: string, seeders?: number, timeoutMs?: number): Promise<void>
  /** Stops the tracker. Safe to call twice. */
  close(): Promise<void>
}

/** Options of {@link startTracker}. */
export interface TrackerOptions {
  /** Announce interval given to clients, in ms (library default: 10 min). */
  readonly intervalMs?: number
  /** Only these infohashes (hex) are served; others get a failure reason. Default: all. */
  readonly allow?: (infoHash: string) => boolean
  /** IPv4 address to listen on (default 127.0.0.1; a test's own network namespace may give another). */
  readonly host?: string
}

function listening (emitter: { once (event: string, fn: (...args: any[]) => void): unknown }): Promise<void> {
  return new Promise((resolve, reject) => {
    emitter.once('listening', () => resolve())
    emitter.once('error', reject)
  })
}

/**
 * Starts an embedded tracker on a free port of 127.0.0.1.
 *
 * @example
 * const tracker = await startTracker({ intervalMs: 2000 })
 * t.after(() => tracker.close())
 * // mktorrent(..., { announce: [tracker.httpAnnounce] }) or tracker.udpAnnounce
 */
export async function startTracker (options: TrackerOptions = {}): Promise<EmbeddedTracker> {
  const host = options.host ?? '127.0.0.1'
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort('both')
    const announces: RecordedAnnounce[] = []
    const server = new Server({
      http: true,
      udp: true,
      ws: false,
      stats: false,
      ...(options.intervalMs !== undefined ? { interval: options.intervalMs } : {}),
      ...(options.allow !== undefined
        ? {
            filter: (infoHash: string, _params: ServerAnnounceParams, cb: (err?: Error | null) => void) => {
              cb(options.allow!(infoHash) ? null : new Error('infohash not allowed by this test tracker'))
            }
          }
        : {})
    })
    // Warnings (bad requests) are normal traffic for a test tracker; errors fail start-up below.
    server.on('warning', () => {})
    server.on('error', () => {})
    const record = (event: string) => (addr: string, params: ServerAnnounceParams) => {
      announces.push({ event, infoHash: params.info_hash, addr, left: params.left, type: params.type, at: Date.now() })
    }
    for (const event of ['start', 'complete', 'update', 'stop', 'pause'] as const) server.on(event, record(event))
    const udp6 = server.udp6
    udp6?.close()
    server.udp6 = null
    const http = server.http!
    const udp4 = server.udp4 as UdpSocket
    const ready = Promise.all([listening(http), listening(udp4)])
    server.listen({ http: port, udp: port }, { http: host, udp: host })
    try {
      await ready
    } catch (err) {
      lastError = err
      await new Promise<void>((resolve) => server.close(() => resolve()))
      continue
    }
    const base = `http://${host}:${port}`
    let closing: Promise<void> | undefined
    const tracker: EmbeddedTracker = {
      port,
      httpAnnounce: `${base}/announce`,
      udpAnnounce: `udp://${host}:${port}`,
      announce: [`${base}/announce`, `udp://${host}:${port}`],
      server,
      announces,
      peers: (infoHash) => server.torrents[infoHash.toLowerCase()]?.peers.keys ?? [],
      counts: (infoHash) => {
        const swarm = server.torrents[infoHash.toLowerCase()]
        return { complete: swarm?.complete ?? 0, incomplete: swarm?.incomplete ?? 0 }
      },
      waitForSeeders: async (infoHash, seeders = 1, timeoutMs = 10_000) => {
        await pollUntil(() => tracker.counts(infoHash).complete >= seeders, {
          timeoutMs, intervalMs: 50, what: `${seeders} seeder(s) of ${infoHash} on the embedded tracker`
        })
      },
      close: () => {
        closing ??= new Promise<void>((resolve) => {
          server.close(() => resolve())
          // http.close waits for keep-alive sockets; don't let one hold us up.
          server.http?.closeAllConnections?.()
        })
        return closing
      }
    }
    return tracker
  }
  throw new Error(`embedded tracker failed to listen: ${(lastError as Error | undefined)?.message ?? 'unknown'}`)
}
