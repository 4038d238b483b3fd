/**
 * A torrent's announces to each of its trackers (HTTP, HTTPS and UDP, over
 * IPv4 and IPv6): `started` first, `completed` once the download is done,
 * `stopped` on the way out, regular announces on each tracker's interval,
 * extra ones when the torrent runs short of peers (never sooner than the
 * tracker's `min interval`), and a doubling back-off after failures. The
 * rules live in announce-policy.ts; this file runs them on a clock, per
 * tracker, and keeps each tracker's latest note (answer, warning or error)
 * for the torrent's stats. Nothing a tracker sends can throw out of here.
 *
 * @internal
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { TrackerNote, TrackerSession, TrackerSessionOptions } from '../contracts.ts'
import { earliestExtra, regularDelay, retryDelay, udpGiveUpAfter, UDP_ANNOUNCE_TRANSMISSIONS, UDP_RETRANSMIT_BASE_MS } from './announce-policy.ts'
import { announceHttp } from './http-tracker.ts'
import { announceUdp, type ConnectionIds } from './udp-tracker.ts'
import { realTimers, type TimerHandle, type Timers } from './timers.ts'
import type { AnnounceParams, AnnounceReply } from './tracker-reply.ts'

export type { TrackerNote, TrackerSession, TrackerSessionOptions } from '../contracts.ts'

/** Options of {@link startTracker}: the contract's, and tuning for tests and special cases. */
export interface TrackerOptions extends TrackerSessionOptions {
  /** First retry delay after a failed announce (ms); doubles up to maxBackoff. */
  readonly backoff?: number
  readonly maxBackoff?: number
  /** Peers asked for per announce; default 80. */
  readonly numwant?: number
  /** An HTTP announce gives up after this long (ms); default 30 s. */
  readonly httpTimeoutMs?: number
  /** First UDP retransmission (ms); default BEP 15's 15 s. A UDP announce gives up after four sends. */
  readonly udpRetryMs?: number
  /** Where UDP connection ids are kept; default one cache for the process. */
  readonly connectionIds?: ConnectionIds
  /** The clock and timers; default the real ones. */
  readonly timers?: Timers
}

const kindOf = (url: string): 'http' | 'udp' | null =>
  /^https?:\/\//i.test(url) ? 'http' : /^udp:\/\//i.test(url) ? 'udp' : null

interface Entry {
  readonly url: string
  readonly kind: 'http' | 'udp' | null
  started: boolean
  completedSent: boolean
  failures: number
  lastAt?: number
  minIntervalMs?: number
  trackerId?: string
  nextAt: number
  timer: TimerHandle | null
  running: Promise<void> | null
  note: TrackerNote
}

/** How long `stop()` waits for the `stopped` announces (ms). */
const STOP_WAIT_MS = 1000

/**
 * Start announcing. Trackers of a kind we cannot speak to (ws:// trackers
 * are for WebRTC) get a note saying so and are never contacted.
 *
 * @example
 * ```ts
 * const t = startTracker({ infoHash, peerId, announce: ['udp://[::1]:6969'], port, stats, onPeer: connect })
 * t.notes() // [{ url: 'udp://[::1]:6969', state: 'working', peers: 3, seeds: 1, leechers: 2, ... }]
 * await t.stop()
 * ```
 */
export const startTracker = (opts: TrackerOptions): TrackerSession => {
  const timers = opts.timers ?? realTimers
  const backoff = opts.backoff ?? 5000
  const maxBackoff = opts.maxBackoff ?? 300_000
  const infoHash = Buffer.from(opts.infoHash, 'hex')
  const peerId = Buffer.from(opts.peerId, 'hex')
  const key = randomBytes(4).readUInt32BE(0)
  const abort = new AbortController()
  let stopped = false
  let completed = false

  const entries: Entry[] = [...new Set(opts.announce)].map((url) => {
    const kind = kindOf(url)
    return {
      url, kind, started: false, completedSent: false, failures: 0, nextAt: timers.now(), timer: null, running: null,
      note: kind === null ? { url, state: 'failing', error: 'not an HTTP, HTTPS or UDP tracker: not contacted' } : { url, state: 'pending' }
    }
  })

  const params = (e: Entry, event: AnnounceParams['event']): AnnounceParams => {
    const s = opts.stats()
    const ip = opts.externalIp?.() ?? null
    return {
      infoHash, peerId, key,
      port: opts.externalPort?.() ?? opts.port,
      uploaded: s.uploaded, downloaded: s.downloaded, left: s.left,
      ...(event !== undefined && { event }),
      numwant: event === 'stopped' ? 0 : (opts.numwant ?? 80),
      ...(ip !== null && { ip }),
      ...(e.trackerId !== undefined && { trackerId: e.trackerId })
    }
  }

  const send = (e: Entry, p: AnnounceParams, signal: AbortSignal, stopping: boolean): Promise<AnnounceReply> => {
    if (e.kind === 'http') return announceHttp(e.url, p, { signal, timeoutMs: stopping ? STOP_WAIT_MS : opts.httpTimeoutMs ?? 30_000 })
    const retryMs = stopping ? STOP_WAIT_MS : opts.udpRetryMs ?? UDP_RETRANSMIT_BASE_MS
    return announceUdp(e.url, p, {
      signal, timers, retryMs,
      timeoutMs: stopping ? STOP_WAIT_MS : udpGiveUpAfter(UDP_ANNOUNCE_TRANSMISSIONS, retryMs),
      ...(opts.connectionIds && { connectionIds: opts.connectionIds })
    })
  }

  const schedule = (e: Entry): void => {
    if (e.timer !== null) timers.clearTimeout(e.timer)
    e.timer = null
    if (stopped || e.kind === null) return
    e.timer = timers.setTimeout(() => {
      e.timer = null
      void run(e)
    }, Math.max(0, e.nextAt - timers.now()))
  }

  const changed = (e: Entry, note: TrackerNote): void => {
    e.note = note
    opts.onNote?.()
  }

  const run = (e: Entry): Promise<void> => {
    if (e.running !== null || stopped || e.kind === null) return e.running ?? Promise.resolve()
    const event = !e.started ? 'started' : completed && !e.completedSent ? 'completed' : undefined
    e.lastAt = timers.now()
    e.running = (async () => {
      try {
        const reply = await send(e, params(e, event), abort.signal, false)
        if (stopped) return
        if (event === 'started') e.started = true
        if (event === 'completed') e.completedSent = true
        e.failures = 0
        if (reply.trackerId !== undefined) e.trackerId = reply.trackerId
        if (reply.minInterval !== undefined) e.minIntervalMs = reply.minInterval * 1000
        else delete e.minIntervalMs
        const now = timers.now()
        e.nextAt = completed && !e.completedSent ? now : now + regularDelay(reply)
        const warning = [reply.warning, ...reply.problems].filter((w) => w !== undefined).join('; ')
        changed(e, {
          url: e.url, state: 'working', peers: reply.peers.length, at: now, next: e.nextAt,
          ...(reply.complete !== undefined && { seeds: reply.complete }),
          ...(reply.incomplete !== undefined && { leechers: reply.incomplete }),
          ...(warning !== '' && { warning })
        })
        if (warning !== '') opts.onWarning?.(`${e.url}: ${warning}`)
        if (reply.complete !== undefined && reply.incomplete !== undefined) opts.onCounts?.(reply.complete, reply.incomplete)
        for (const peer of reply.peers) if (!stopped) opts.onPeer(peer.host, peer.port)
      } catch (err) {
        if (stopped) return
        e.failures++
        e.nextAt = timers.now() + retryDelay(e.failures, backoff, maxBackoff)
        const message = (err as Error)?.message ?? String(err)
        const { peers, seeds, leechers, at } = e.note
        changed(e, {
          url: e.url, state: 'failing', error: message, next: e.nextAt,
          ...(peers !== undefined && { peers }), ...(seeds !== undefined && { seeds }),
          ...(leechers !== undefined && { leechers }), ...(at !== undefined && { at })
        })
        opts.onWarning?.(`${e.url}: ${message}`)
      } finally {
        e.running = null
      }
      schedule(e)
    })()
    return e.running
  }

  for (const e of entries) void run(e)

  return {
    completed() {
      if (stopped || completed) return
      completed = true
      for (const e of entries) {
        if (e.running !== null || !e.started || e.kind === null) continue
        e.nextAt = timers.now()
        schedule(e)
      }
    },
    update() {
      if (stopped) return
      const now = timers.now()
      for (const e of entries) {
        if (e.running !== null || e.kind === null) continue
        const at = earliestExtra(e, now)
        if (at === null || at >= e.nextAt) continue
        e.nextAt = at
        schedule(e)
      }
    },
    notes: () => entries.map((e) => e.note),
    stop() {
      if (stopped) return Promise.resolve()
      stopped = true
      abort.abort()
      for (const e of entries) if (e.timer !== null) timers.clearTimeout(e.timer)
      // Every tracker that may have counted us (an answer came, or an announce was under way) hears we left.
      const leaving = entries
        .filter((e) => (e.started || e.running !== null) && e.kind !== null)
        .map((e) => send(e, params(e, 'stopped'), AbortSignal.timeout(STOP_WAIT_MS), true).then(() => {}, () => {}))
      return Promise.all(leaving).then(() => {})
    }
  }
}
