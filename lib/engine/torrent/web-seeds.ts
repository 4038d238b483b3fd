/**
 * A torrent's BEP 19 web seeds, wired to its parts: the seeds claim runs of
 * whole pieces in the picker and deliver them into the assembly, like a
 * peer's blocks (written, hashed and judged the same way), and hear each
 * piece's verdict.
 *
 * @internal
 * @module
 */
import type { Metainfo } from '../contracts.ts'
import type { PiecePicker } from '../download/picker.ts'
import type { PieceAssembly } from '../download/assembly.ts'
import { TorrentWebSeeds } from '../download/web-seed-host.ts'
import { WebSeedSource, type WebSeedStats } from '../download/web-seed-source.ts'
import type { TorrentStatus } from './status.ts'
import type { TorrentContext } from './context.ts'

/** What the web seeds need from their torrent. */
export interface WebSeedsOptions {
  readonly meta: Metainfo
  readonly ctx: Pick<TorrentContext, 'webSeeds' | 'webSeedOptions'>
  readonly picker: PiecePicker
  /** The assembly (looked up late: it may be built after the web seeds). */
  assembly(): PieceAssembly
  readonly status: Pick<TorrentStatus, 'received' | 'accepted'>
  /** The torrent takes data now. */
  running(): boolean
}

/**
 * Web seeds of one torrent; {@link webSeedsOf} gives null when it names none or they are off.
 *
 * @example
 * ```ts
 * const seeds = webSeedsOf({ meta, ctx, picker, assembly: () => asm, status, running: () => true })
 * seeds?.start()
 * ```
 */
export class WebSeeds {
  constructor(
    private readonly host: TorrentWebSeeds,
    private readonly source: WebSeedSource
  ) {}

  start(): void {
    this.source.start()
  }

  /** A piece's hash check is over: a seed waiting on it hears the verdict, the others may claim more. */
  settled(piece: number, ok: boolean): void {
    this.host.settled(piece, ok)
    this.source.wake()
  }

  stats(): WebSeedStats[] {
    return this.source.stats()
  }

  stop(): Promise<void> {
    this.host.clear()
    return this.source.stop()
  }
}

export const webSeedsOf = (o: WebSeedsOptions): WebSeeds | null => {
  const urls = o.ctx.webSeeds === false ? [] : o.meta.urlList
  if (urls.length === 0) return null
  const { picker } = o
  const host = new TorrentWebSeeds({
    picker,
    add: (piece, offset, data, sender, complete) => o.assembly().add(piece, offset, data, sender, complete),
    open: () => o.running() && !picker.isComplete() && !o.assembly().full(),
    accepted: (sender, bytes) => {
      o.status.received(bytes)
      o.status.accepted(sender, bytes)
    }
  })
  return new WebSeeds(host, new WebSeedSource(urls, o.meta, host, o.ctx.webSeedOptions ?? {}))
}
