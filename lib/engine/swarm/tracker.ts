/**
 * Tracker announces for one torrent through bittorrent-tracker's Client (HTTP
 * and UDP): started / completed / stopped, re-announce on the interval the
 * tracker gives (the library does that), and our own retry with exponential
 * backoff when announces fail, which the library does not do.
 *
 * @internal
 * @module
 */
import { Client } from 'bittorrent-tracker'
import { parseAddress } from './address.ts'

export interface TrackerOptions {
  readonly infoHash: string
  /** Our peer id, hex. */
  readonly peerId: string
  readonly announce: readonly string[]
  /** Our listening port. */
  readonly port: number
  readonly stats: () => { uploaded: number; downloaded: number; left: number }
  readonly onPeer: (host: string, port: number) => void
  readonly onCounts?: (seeds: number, leechers: number) => void
  readonly onWarning?: (message: string) => void
  /** First retry delay after a failed announce (ms); doubles up to maxBackoff. */
  readonly backoff?: number
  readonly maxBackoff?: number
}

/** What a torrent controller needs from its trackers. */
export interface TrackerSession {
  completed(): void
  /** Ask for more peers now (e.g. when we run short). */
  update(): void
  /** Announce stopped and release sockets/timers; resolves within ~1 s at most. */
  stop(): Promise<void>
}

const usable = (url: string): boolean => /^(https?|udp):\/\//i.test(url)

/**
 * Start announcing. Returns a session with no trackers (a no-op) when the
 * torrent names none we can speak to (ws:// trackers are for WebRTC).
 *
 * @example
 * ```ts
 * const t = startTracker({ infoHash, peerId, announce: ['udp://127.0.0.1:6969'], port, stats, onPeer: connect })
 * await t.stop()
 * ```
 */
export const startTracker = (opts: TrackerOptions): TrackerSession => {
  const announce = opts.announce.filter(usable)
  if (announce.length === 0) return { completed() {}, update() {}, stop: async () => {} }

  const client = new Client({
    infoHash: opts.infoHash,
    peerId: opts.peerId,
    announce: [...announce],
    port: opts.port,
    getAnnounceOpts: () => ({ ...opts.stats(), numwant: 80 })
  })
  let stopped = false
  let retry: NodeJS.Timeout | null = null
  let delay = opts.backoff ?? 5000
  const maxDelay = opts.maxBackoff ?? 300000

  client.on('peer', (addr: string) => {
    if (stopped || typeof addr !== 'string') return
    const peer = parseAddress(addr)
    if (peer !== null) opts.onPeer(peer.host, peer.port)
  })
  client.on('update', (data) => {
    delay = opts.backoff ?? 5000
    if (typeof data?.complete === 'number' && typeof data?.incomplete === 'number')
      opts.onCounts?.(data.complete, data.incomplete)
  })
  const failed = (err: Error): void => {
    if (stopped) return
    opts.onWarning?.(err?.message ?? String(err))
    if (retry) return
    retry = setTimeout(() => {
      retry = null
      if (!stopped) client.update()
    }, delay)
    retry.unref?.()
    delay = Math.min(maxDelay, delay * 2)
  }
  client.on('warning', failed)
  client.on('error', failed)
  client.start()

  return {
    completed() {
      if (!stopped) client.complete()
    },
    update() {
      if (!stopped) client.update()
    },
    stop() {
      if (stopped) return Promise.resolve()
      stopped = true
      if (retry) clearTimeout(retry)
      retry = null
      try {
        client.stop()
      } catch {
        // nothing to do: we are leaving anyway
      }
      // Give the stopped announce a moment to leave, then tear down regardless.
      // These timers stay ref'd: they are short and bounded, and an unref'd one
      // could leave this promise pending forever in a process with nothing else to do.
      return new Promise<void>((resolve) => {
        setTimeout(() => {
          const cap = setTimeout(resolve, 1200)
          client.destroy(() => {
            clearTimeout(cap)
            resolve()
          })
        }, 300)
      })
    }
  }
}
