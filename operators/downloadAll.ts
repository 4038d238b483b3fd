import { asap } from '@most/scheduler'
import type { Disposable, Scheduler, Sink, Stream, Time } from '@most/types'
import {
  createNewTorrent,
  isCreateNewTorrent,
  isCreationReply,
  isTorrentStartFail,
  isTorrentStatusUpdate,
  type Command,
  type CreateNewTorrent,
  type Feedback,
  type TorrentId
} from '../lib/messages.ts'
import { torrentPatron } from '../lib/patron.ts'
import type { TorrentService } from '../lib/service/index.ts'
import { isComplete, isFailed } from './completion.ts'
import { curry2 } from '@most/prelude'
import { SettableDisposable } from './settable.ts'
import { EndsOnceSink } from './ends-once-sink.ts'

/**
 * A torrent to download: .torrent bytes, a magnet URI, or a full command (to set its folder or peers).
 *
 * @example
 * ```ts
 * const list: TorrentSource[] = [bytes, 'magnet:?xt=urn:btih:...', createNewTorrent(bytes2, { savefolder: 'b' })]
 * ```
 */
export type TorrentSource = Uint8Array | string | CreateNewTorrent

/**
 * Where downloads go: a service (a new patron is made for the run) or a patron function.
 *
 * @example
 * ```ts
 * const via: PatronSource = torrentPatron(service) // or just: service
 * ```
 */
export type PatronSource = TorrentService | ((commands: Stream<Command>) => Stream<Feedback>)

const toCommand = (t: TorrentSource): CreateNewTorrent => (isCreateNewTorrent(t) ? t : createNewTorrent(t))

/** Emits a fixed list of commands as soon as it runs, then ends. */
class CommandList implements Stream<Command> {
  constructor(private readonly commands: readonly Command[]) {}
  run(sink: Sink<Command>, scheduler: Scheduler): Disposable {
    return asap(
      {
        run: (t: Time) => {
          for (const c of this.commands) sink.event(t, c)
          sink.end(t)
        },
        error: (t: Time, e: Error) => sink.error(t, e),
        dispose: () => undefined
      },
      scheduler
    )
  }
}

class DownloadAll implements Stream<Feedback> {
  constructor(
    private readonly via: PatronSource,
    private readonly torrents: readonly TorrentSource[]
  ) {}

  run(sink: Sink<Feedback>, scheduler: Scheduler): Disposable {
    const patron = typeof this.via === 'function' ? this.via : torrentPatron(this.via)
    const commands = this.torrents.map(toCommand)
    const upstream = new SettableDisposable()
    const tracker = new DownloadAllSink(commands.length, sink, upstream)
    upstream.set(patron(new CommandList(commands)).run(tracker, scheduler))
    return upstream
  }
}

class DownloadAllSink extends EndsOnceSink<Feedback, Feedback> {
  private replies = 0
  private readonly open = new Set<TorrentId>()
  private readonly settled = new Set<TorrentId>()

  constructor(
    private readonly expected: number,
    sink: Sink<Feedback>,
    upstream: Disposable
  ) {
    super(sink, upstream)
  }

  event(t: Time, m: Feedback): void {
    if (this.done) return
    if (isCreationReply(m)) {
      this.replies++
      if (!isTorrentStartFail(m) && !this.settled.has(m.torrentid)) this.open.add(m.torrentid)
    } else if (isTorrentStatusUpdate(m) && this.open.has(m.torrentid) && (isComplete(m) || isFailed(m))) {
      this.open.delete(m.torrentid)
      this.settled.add(m.torrentid)
    }
    this.sink.event(t, m)
    if (!this.done && this.replies >= this.expected && this.open.size === 0) this.finish(t)
  }

  private finish(t: Time): void {
    this.done = true
    this.sink.end(t)
    // Leaving the service closes the torrents this patron owns.
    this.upstream.dispose()
  }
}

/**
 * "Download all of these and end when all are done": starts every torrent
 * through one patron, passes its feedback on, and ends once every torrent
 * is complete or has failed (start failures and `"error: ..."` included;
 * pick them out with {@link errors}). Ending leaves the service, which closes
 * the torrents: verified data stays on disk. Disposing early does the same.
 *
 * @example
 * ```ts
 * import { runEffects, tap } from '@most/core'
 * const service = torrentService(torrentClient({ downloadFolder: 'downloads' }))
 * const all = downloadAll(service, [await readFile('a.torrent'), 'magnet:?xt=urn:btih:...'])
 * await runEffects(tap((m: Feedback) => console.log(m.type), all), scheduler)
 * ```
 */
export const downloadAll = curry2(
  (via: PatronSource, torrents: readonly TorrentSource[]): Stream<Feedback> => new DownloadAll(via, torrents)
)
