/**
 * Scrapes of one torrent's trackers on a schedule: each tracker with a
 * scrape convention is asked at start, then every `intervalMs` (30 min by
 * default, as Transmission does), and after a failure again on a doubling
 * delay from one minute up to the interval. The latest counts or error of
 * each tracker are kept for the torrent's stats.
 *
 * @internal
 * @module
 */
import { scrape as scrapeTracker, scrapeUrlOf, type ScrapeCounts, type ScrapeOptions } from './scrape.ts'

/** The latest scrape of one tracker. */
export interface TrackerScrape {
  /** The tracker's announce URL. */
  readonly url: string
  /** Seeders, leechers and completed downloads, once a scrape succeeded. */
  readonly counts?: ScrapeCounts
  /** When the counts were taken (ms since epoch). */
  readonly at?: number
  /** Why the latest scrape failed (cleared by a success). */
  readonly error?: string
  /** When the next scrape is due (ms since epoch). */
  readonly next: number
}

/** Options of {@link startScrapes}. */
export interface ScrapeSessionOptions {
  /** 20 raw bytes. */
  readonly infoHash: Uint8Array
  /** Announce URLs; those without a scrape convention are left out. */
  readonly announce: readonly string[]
  /** Time between scrapes of a tracker that answers (ms, default 30 min). */
  readonly intervalMs?: number
  /** First retry after a failure (ms, default 60 s), doubling up to intervalMs. */
  readonly retryMs?: number
  /** Called after every scrape, good or bad. */
  readonly onUpdate?: (scrape: TrackerScrape) => void
  /** The clock (ms). */
  readonly now?: () => number
  /** The scrape itself (the real one unless a test gives another). */
  readonly scrape?: (announce: string, infoHash: Uint8Array, opts: ScrapeOptions) => Promise<ScrapeCounts>
}

/** A running schedule. */
export interface ScrapeSession {
  /** The latest result per tracker, in announce order. */
  results(): TrackerScrape[]
  /** Scrape every tracker now (resolves when all answered or failed). */
  refresh(): Promise<void>
  /** Stop the schedule and abort scrapes in flight. */
  stop(): void
}

/**
 * When a tracker is next due: `intervalMs` after a success, else a doubling
 * delay after `failures` consecutive failures, never more than `intervalMs`.
 *
 * @example
 * ```ts
 * nextScrapeDelay(0, 1800000, 60000) // 1800000
 * nextScrapeDelay(3, 1800000, 60000) // 240000
 * ```
 */
export const nextScrapeDelay = (failures: number, intervalMs: number, retryMs: number): number =>
  failures === 0 ? intervalMs : Math.min(intervalMs, retryMs * 2 ** Math.min(30, failures - 1))

interface Entry {
  url: string
  result: TrackerScrape
  failures: number
  timer: NodeJS.Timeout | null
  running: Promise<void> | null
}

/**
 * Start scraping.
 *
 * @example
 * ```ts
 * const s = startScrapes({ infoHash: m.infoHashBytes, announce: m.announce, onUpdate: () => changed() })
 * s.results() // [{ url, counts: { complete, incomplete, downloaded }, at, next }]
 * s.stop()
 * ```
 */
export const startScrapes = (opts: ScrapeSessionOptions): ScrapeSession => {
  const now = opts.now ?? Date.now
  const interval = opts.intervalMs ?? 30 * 60 * 1000
  const retry = opts.retryMs ?? 60 * 1000
  const doScrape = opts.scrape ?? scrapeTracker
  const abort = new AbortController()
  let stopped = false
  const entries: Entry[] = [...new Set(opts.announce)]
    .filter((url) => scrapeUrlOf(url) !== null)
    .map((url) => ({ url, result: { url, next: now() }, failures: 0, timer: null, running: null }))

  const schedule = (e: Entry): void => {
    if (stopped) return
    if (e.timer) clearTimeout(e.timer)
    e.timer = setTimeout(() => {
      e.timer = null
      void run(e)
    }, Math.max(0, e.result.next - now()))
    e.timer.unref?.()
  }

  const run = (e: Entry): Promise<void> => {
    if (e.running) return e.running
    e.running = (async () => {
      const { counts, at } = e.result
      try {
        const got = await doScrape(e.url, opts.infoHash, { signal: abort.signal })
        e.failures = 0
        e.result = { url: e.url, counts: got, at: now(), next: now() + interval }
      } catch (err) {
        if (stopped) return
        e.failures++
        const message = (err as Error)?.message ?? String(err)
        e.result = { url: e.url, ...(counts ? { counts } : {}), ...(at !== undefined ? { at } : {}), error: message, next: now() + nextScrapeDelay(e.failures, interval, retry) }
      } finally {
        e.running = null
      }
      if (stopped) return
      opts.onUpdate?.(e.result)
      schedule(e)
    })()
    return e.running
  }

  for (const e of entries) void run(e)

  return {
    results: () => entries.map((e) => e.result),
    refresh: async () => {
      await Promise.all(entries.map((e) => run(e)))
    },
    stop: () => {
      stopped = true
      abort.abort()
      for (const e of entries) if (e.timer) clearTimeout(e.timer)
    }
  }
}
