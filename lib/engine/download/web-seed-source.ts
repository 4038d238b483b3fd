/**
 * Web seeds as a block source beside peers: each web seed claims runs of
 * whole pieces from its host (the torrent), fetches them with
 * {@link WebSeed}, and hands every piece to the host's hash check. Seeds
 * work in parallel, rest after failures and are dropped after bad data
 * ({@link WebSeedHealth}); the bytes each one delivered are counted.
 *
 * @internal
 * @module
 */
import { WebSeed, WebSeedError, type WebSeedOptions } from './web-seed.ts'
import type { WebSeedLayout } from './web-seed-layout.ts'
import { WebSeedHealth, type WebSeedHealthOptions } from '../policy/web-seed-health.ts'

/** What a web seed source needs from its torrent. */
export interface WebSeedHost {
  /**
   * Claim up to `max` consecutive whole pieces that nobody is fetching, for
   * `source`; null when there is nothing for it now.
   */
  claim(source: string, max: number): { first: number; count: number } | null
  /** Give back claimed pieces that were not delivered. */
  unclaim(source: string, first: number, count: number): void
  /**
   * A whole piece from `source`; resolves true when it passed the hash
   * check, false when it failed, null when it was not judged on it (the
   * piece was done or lost meanwhile). `judged` gets the same verdict and
   * the bytes of the piece the torrent took from this seed (blocks other
   * sources delivered first are not), synchronously at the moment the
   * torrent settles the piece, so the seed's figures are up to date in the
   * status the settlement triggers.
   */
  deliver(source: string, piece: number, bytes: Buffer, judged: (ok: boolean | null, taken: number) => void): Promise<boolean | null>
  /** Something worth a status line: a seed rested or was dropped. */
  warn?(source: string, message: string): void
}

/** Options of {@link WebSeedSource}. */
export interface WebSeedSourceOptions extends WebSeedOptions, WebSeedHealthOptions {
  /** Bytes asked for per request run, rounded to whole pieces (default 4 MiB). */
  readonly runBytes?: number
  /** Runs in flight per web seed (default 2). */
  readonly perSeed?: number
  /** The clock (ms). */
  readonly now?: () => number
}

/** One web seed's figures. */
export interface WebSeedStats {
  readonly url: string
  /** Bytes of pieces it delivered that passed the hash check. */
  readonly downloaded: number
  /** Bytes it delivered that failed the hash check. */
  readonly discarded: number
  /** Runs in flight. */
  readonly active: number
  /** `active` (fetching or ready), `resting` (after a failure) or `dropped`. */
  readonly state: 'active' | 'resting' | 'dropped'
  /** Why it is resting or dropped. */
  readonly reason?: string
}

interface Seed {
  readonly url: string
  readonly client: WebSeed
  readonly health: WebSeedHealth
  active: number
  downloaded: number
  discarded: number
  lastError?: string
  timer: NodeJS.Timeout | null
  readonly aborts: Set<AbortController>
}

/**
 * The web seeds of one torrent.
 *
 * @example
 * ```ts
 * const source = new WebSeedSource(metainfo.urlList, metainfo, host)
 * source.start()
 * source.wake() // the host has pieces to give out again
 * await source.stop()
 * ```
 */
export class WebSeedSource {
  private readonly seeds: Seed[]
  private running = false
  private readonly now: () => number
  private readonly runPieces: number
  private readonly perSeed: number
  private readonly inflight = new Set<Promise<void>>()
  private readonly pieceLength: number

  /**
   * @param urls web seed URLs (duplicates ignored)
   * @param layout the torrent's files and pieces
   * @param host the torrent
   */
  constructor(urls: readonly string[], layout: WebSeedLayout, private readonly host: WebSeedHost, opts: WebSeedSourceOptions = {}) {
    this.now = opts.now ?? Date.now
    this.pieceLength = layout.pieceLength
    this.runPieces = Math.max(1, Math.round((opts.runBytes ?? 4 * 1024 * 1024) / layout.pieceLength))
    this.perSeed = Math.max(1, opts.perSeed ?? 2)
    this.seeds = [...new Set(urls)].map((url) => ({
      url,
      client: new WebSeed(url, layout, opts),
      health: new WebSeedHealth(opts),
      active: 0,
      downloaded: 0,
      discarded: 0,
      timer: null,
      aborts: new Set()
    }))
  }

  /** Begin fetching. */
  start(): void {
    this.running = true
    this.wake()
  }

  /** Let every ready seed claim work (call when pieces become free again). */
  wake(): void {
    if (!this.running) return
    for (const seed of this.seeds) this.fill(seed)
  }

  /** Abort every fetch (claims are given back) and close connections. */
  async stop(): Promise<void> {
    this.running = false
    for (const seed of this.seeds) {
      if (seed.timer) clearTimeout(seed.timer)
      seed.timer = null
      for (const ac of seed.aborts) ac.abort()
    }
    await Promise.allSettled([...this.inflight])
    for (const seed of this.seeds) seed.client.close()
  }

  /** Figures per web seed. */
  stats(): WebSeedStats[] {
    const now = this.now()
    return this.seeds.map((s) => {
      const dropped = s.health.dropped
      const state = dropped !== null ? 'dropped' : s.health.ready(now) ? 'active' : 'resting'
      const reason = dropped ?? (state === 'resting' ? s.lastError : undefined)
      return { url: s.url, downloaded: s.downloaded, discarded: s.discarded, active: s.active, state, ...(reason !== undefined ? { reason } : {}) }
    })
  }

  private fill(seed: Seed): void {
    while (this.running && seed.active < this.perSeed && seed.health.ready(this.now())) {
      const run = this.host.claim(seed.url, this.runPieces)
      if (run === null) return
      seed.active++
      const job = this.fetch(seed, run.first, run.count).finally(() => {
        this.inflight.delete(job)
        seed.active--
        this.fill(seed)
      })
      this.inflight.add(job)
    }
  }

  private async fetch(seed: Seed, first: number, count: number): Promise<void> {
    const ac = new AbortController()
    seed.aborts.add(ac)
    let bytes: Buffer
    try {
      bytes = await seed.client.fetchPieces(first, count, ac.signal)
    } catch (err) {
      this.host.unclaim(seed.url, first, count)
      const failure = err instanceof WebSeedError ? err : new WebSeedError('network', String(err))
      if (!this.running) return
      seed.lastError = failure.message
      seed.health.failed(failure, this.now())
      this.afterFailure(seed)
      // The pieces it gave back go to the seeds that are still ready; an idle one would not ask again by itself.
      this.wake()
      return
    } finally {
      seed.aborts.delete(ac)
    }
    seed.health.succeeded()
    const pieceLength = this.pieceLength
    for (let i = 0; i < count; i++) {
      const piece = bytes.subarray(i * pieceLength, Math.min(bytes.length, (i + 1) * pieceLength))
      await this.host.deliver(seed.url, first + i, piece, (ok, taken) => {
        if (ok === true) seed.downloaded += taken
        else if (ok === false) {
          seed.discarded += taken
          seed.health.badData()
        }
      })
    }
    if (seed.health.dropped !== null) this.host.warn?.(seed.url, `web seed dropped: ${seed.health.dropped}`)
  }

  private afterFailure(seed: Seed): void {
    const dropped = seed.health.dropped
    if (dropped !== null) {
      this.host.warn?.(seed.url, `web seed dropped: ${dropped}`)
      return
    }
    this.host.warn?.(seed.url, `web seed resting: ${seed.lastError ?? 'failed'}`)
    if (seed.timer) clearTimeout(seed.timer)
    seed.timer = setTimeout(() => {
      seed.timer = null
      this.fill(seed)
    }, Math.max(0, seed.health.restingUntil - this.now()))
    seed.timer.unref?.()
  }
}
