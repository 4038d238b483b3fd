/**
 * An embedded HTTP tracker (bittorrent-tracker's server) on 127.0.0.1, so
 * leechers that cannot take an explicit peer (aria2c) find the seeder.
 */
import { importUntyped } from './untyped.ts'

export interface LocalTracker {
  readonly url: string
  /** Peers the tracker currently lists for an info hash (hex). */
  peerCount(infoHash: string): number
  close(): Promise<void>
}

interface TrackerServer {
  on(event: string, listener: (...args: unknown[]) => void): void
  listen(port: number, hostname: string, cb: () => void): void
  http?: { address(): { port: number } }
  torrents: Record<string, { peers?: { length: number; keys?: unknown[] } } | undefined>
  close(cb: () => void): void
}

/**
 * Start a tracker on an ephemeral loopback port (HTTP only: the bench needs
 * nothing else, and UDP on ::1 is not always there).
 * @example
 * ```ts
 * const tracker = await startTracker()
 * // ... mktorrent -a tracker.url ...
 * await tracker.close()
 * ```
 */
export const startTracker = async (): Promise<LocalTracker> => {
  const mod = await importUntyped<{ Server: new (opts: object) => TrackerServer }>('bittorrent-tracker')
  // Short interval: a seeder that starts before the tracker is re-listed quickly.
  const server = new mod.Server({ udp: false, ws: false, http: true, stats: false, interval: 5_000 })
  server.on('warning', () => {})
  server.on('error', (err) => console.error('[bench] tracker error:', err))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.http!.address().port
  return {
    url: `http://127.0.0.1:${port}/announce`,
    peerCount: (infoHash) => {
      const peers = server.torrents[infoHash]?.peers
      return peers ? (Array.isArray(peers.keys) ? peers.keys.length : peers.length) : 0
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
