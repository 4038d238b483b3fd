import type { Disposable, Scheduler, Sink, Stream, Time } from '@most/types'
import type { Feedback, TorrentStatusUpdate } from '../lib/messages.ts'
import { isComplete, isFailed, TorrentFailedError } from './completion.ts'
import { CreatedTorrents, fileIndices, type CompletedFile, type CreatedTorrent } from './completedFiles.ts'
import { SettableDisposable } from './settable.ts'
import { EndsOnceSink } from './ends-once-sink.ts'

/** A torrent of the sequence and how far it is through. */
interface Entry extends CreatedTorrent {
  /** Files listed complete so far. */
  readonly complete: Set<number>
  /** Files skipped, as the latest status update says. */
  skipped: Set<number>
  /** The next file to come out (or be passed over). */
  cursor: number
  /** Every wanted file of it is complete (the torrent is). */
  finished: boolean
}

class OrderedFiles implements Stream<CompletedFile> {
  constructor(private readonly source: Stream<Feedback>) {}

  run(sink: Sink<CompletedFile>, scheduler: Scheduler): Disposable {
    const upstream = new SettableDisposable()
    upstream.set(this.source.run(new OrderedFilesSink(sink, upstream), scheduler))
    return upstream
  }
}

class OrderedFilesSink extends EndsOnceSink<Feedback, CompletedFile> {
  private readonly torrents = new CreatedTorrents<Entry>((base) => ({ base, complete: new Set(), skipped: new Set(), cursor: 0, finished: false }))
  /** The first torrent not yet through. */
  private head = 0

  event(t: Time, m: Feedback): void {
    if (this.done) return
    const seen = this.torrents.see(m)
    if (seen === null || !('update' in seen)) return
    const e = seen.of
    if (e.finished) return
    this.take(e, seen.update)
    if (!e.finished && isFailed(seen.update)) {
      // a lost file would hold back every later one forever: say so
      this.done = true
      this.sink.error(t, new TorrentFailedError(seen.update.torrentid, seen.update.statsdictionary.activity))
      this.upstream.dispose()
      return
    }
    this.flush(t)
  }

  /** What a status update says of a torrent's files. */
  private take(e: Entry, u: TorrentStatusUpdate): void {
    const s = u.statsdictionary
    for (const f of fileIndices(s.filesComplete)) e.complete.add(f)
    e.skipped = new Set(fileIndices(s.filesSkipped))
    if (isComplete(u)) e.finished = true
  }

  /** Emits what is due: the head torrent's files in order, and on to the next torrent once one is through. */
  private flush(t: Time): void {
    const list = this.torrents.list
    while (this.head < list.length) {
      const e = list[this.head]!
      for (;;) {
        if (e.skipped.has(e.cursor)) e.cursor++
        else if (e.complete.has(e.cursor)) this.sink.event(t, { ...e.base, file: e.cursor++ })
        else break
      }
      if (!e.finished) return
      // complete: every wanted file is listed; the gaps left are files it does not want
      for (const f of [...e.complete].filter((f) => f >= e.cursor).sort((a, b) => a - b)) if (!e.skipped.has(f)) this.sink.event(t, { ...e.base, file: f })
      this.head++
    }
  }
}

/**
 * The wanted files of the torrents created in a feedback stream, in creation
 * order: torrents in the order their `NewTorrentCreated` arrived, each
 * torrent's files in file order. A file comes out once it is verified in
 * full (listed in its torrent's `filesComplete`) and every file before it
 * came out or is skipped; the next torrent's files follow once a torrent is
 * complete. A file skipped when its turn comes is passed over for good (if
 * it is wanted later, {@link completedFiles} reports it). A torrent that
 * fails or shuts down before it is complete fails the stream with a
 * {@link TorrentFailedError}, since every later file would wait for it.
 *
 * @example
 * ```ts
 * import { runEffects, tap } from '@most/core'
 * const feedback = multicast(torrentPatron(service, commands))
 * const play = tap((f: CompletedFile) => console.log(`torrent ${f.torrent}, file ${f.file}`), orderedFiles(feedback))
 * await runEffects(play, scheduler)
 * ```
 */
export const orderedFiles = (feedback: Stream<Feedback>): Stream<CompletedFile> => new OrderedFiles(feedback)
