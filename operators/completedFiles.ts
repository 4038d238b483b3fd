import type { Disposable, Scheduler, Sink, Stream, Time } from '@most/types'
import { isNewTorrentCreated, isTorrentStatusUpdate, type Feedback, type TorrentId, type TorrentStatusUpdate } from '../lib/messages.ts'

/**
 * A wanted file of a torrent, verified in full.
 *
 * @example
 * ```ts
 * const f: CompletedFile = { torrentid: '5f0c2e9a41b7d3a8c6e1f024', torrent: 0, file: 2, savefolder: '/tmp/album', name: 'album' }
 * ```
 */
export interface CompletedFile {
  /** The torrent. */
  readonly torrentid: TorrentId
  /** The torrent's place in creation order (its `NewTorrentCreated` in the feedback), from 0. */
  readonly torrent: number
  /** The file's index: the torrent's files in metainfo order, BEP 47 pad files not counted. */
  readonly file: number
  /** Where the torrent's data is. */
  readonly savefolder: string
  /** The torrent's name, when known at creation. */
  readonly name?: string
}

/** A torrent created in the feedback, as the file operators track it. @internal */
export interface CreatedTorrent {
  readonly base: Omit<CompletedFile, 'file'>
}

/**
 * The torrents of a feedback stream in the order their `NewTorrentCreated`
 * arrived (creations that failed take no place; a torrent created twice
 * keeps its first place). @internal
 */
export class CreatedTorrents<T extends CreatedTorrent> {
  readonly list: T[] = []
  private readonly byId = new Map<TorrentId, T>()

  constructor(private readonly make: (base: CreatedTorrent['base']) => T) {}

  /** Takes a creation; returns the status update's torrent, if created here, for an update. */
  see(m: Feedback): { created: T } | { update: TorrentStatusUpdate; of: T } | null {
    if (isNewTorrentCreated(m)) {
      if (this.byId.has(m.torrentid)) return null
      const t = this.make({ torrentid: m.torrentid, torrent: this.list.length, savefolder: m.savefolder, ...(m.name !== undefined ? { name: m.name } : {}) })
      this.list.push(t)
      this.byId.set(m.torrentid, t)
      return { created: t }
    }
    if (!isTorrentStatusUpdate(m)) return null
    const of = this.byId.get(m.torrentid)
    return of === undefined ? null : { update: m, of }
  }
}

/** The file indices of a list in a status update, ascending, without anything that is not one. @internal */
export const fileIndices = (list: unknown): number[] =>
  Array.isArray(list) ? [...new Set(list.filter((i): i is number => Number.isSafeInteger(i) && i >= 0))].sort((a, b) => a - b) : []

class CompletedFiles implements Stream<CompletedFile> {
  constructor(private readonly source: Stream<Feedback>) {}

  run(sink: Sink<CompletedFile>, scheduler: Scheduler): Disposable {
    return this.source.run(new CompletedFilesSink(sink), scheduler)
  }
}

class CompletedFilesSink implements Sink<Feedback> {
  private readonly torrents = new CreatedTorrents((base) => ({ base, emitted: new Set<number>() }))

  constructor(private readonly sink: Sink<CompletedFile>) {}

  event(t: Time, m: Feedback): void {
    const seen = this.torrents.see(m)
    if (seen === null || !('update' in seen)) return
    const { base, emitted } = seen.of
    for (const file of fileIndices(seen.update.statsdictionary.filesComplete)) {
      if (emitted.has(file)) continue
      emitted.add(file)
      this.sink.event(t, { ...base, file })
    }
  }

  end(t: Time): void {
    this.sink.end(t)
  }

  error(t: Time, e: Error): void {
    this.sink.error(t, e)
  }
}

/**
 * Each wanted file of the torrents created in a feedback stream, once, as
 * soon as a status update lists it among the torrent's `filesComplete`
 * (verified in full). Files of one status update come out in file order;
 * otherwise the order is the order they complete in (see
 * {@link orderedFiles} for creation order). A file that completes while
 * skipped comes out if it is wanted later. Ends when the feedback ends.
 *
 * @example
 * ```ts
 * import { runEffects, tap } from '@most/core'
 * const done = tap((f: CompletedFile) => console.log(`${f.name}: file ${f.file} is complete`), completedFiles(feedback))
 * await runEffects(done, scheduler)
 * ```
 */
export const completedFiles = (feedback: Stream<Feedback>): Stream<CompletedFile> => new CompletedFiles(feedback)
