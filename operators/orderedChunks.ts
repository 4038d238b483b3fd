import type { Disposable, Scheduler, Sink, Stream, Time } from '@most/types'
import { isNewTorrentCreated, isTorrentStatusUpdate, type Feedback, type TorrentId } from '../lib/messages.ts'
import { isComplete, isFailed, TorrentFailedError } from './completion.ts'
import { SettableDisposable } from './settable.ts'
import { EndsOnceSink } from './ends-once-sink.ts'

/**
 * A torrent of a sequence, complete, with its place in the sequence.
 *
 * @example
 * ```ts
 * const chunk: OrderedChunk = { index: 0, torrentid: '5f0c2e9a41b7d3a8c6e1f024', savefolder: '/tmp/radio', name: 'chunk-0000.ogg' }
 * ```
 */
export interface OrderedChunk {
  /** Position in creation order, from 0. */
  readonly index: number
  /** The torrent. */
  readonly torrentid: TorrentId
  /** Where its data is. */
  readonly savefolder: string
  /** Its name, when known. */
  readonly name?: string
}

class OrderedChunks implements Stream<OrderedChunk> {
  constructor(private readonly source: Stream<Feedback>) {}

  run(sink: Sink<OrderedChunk>, scheduler: Scheduler): Disposable {
    const upstream = new SettableDisposable()
    upstream.set(this.source.run(new OrderedChunksSink(sink, upstream), scheduler))
    return upstream
  }
}

class OrderedChunksSink extends EndsOnceSink<Feedback, OrderedChunk> {
  /** Chunks created and not yet emitted, in creation order. */
  private readonly pending: Array<{ chunk: OrderedChunk; complete: boolean }> = []
  private readonly byId = new Map<TorrentId, { chunk: OrderedChunk; complete: boolean }>()
  private created = 0

  event(t: Time, m: Feedback): void {
    if (this.done) return
    if (isNewTorrentCreated(m)) {
      if (this.byId.has(m.torrentid)) return
      const entry = {
        chunk: { index: this.created++, torrentid: m.torrentid, savefolder: m.savefolder, ...(m.name !== undefined ? { name: m.name } : {}) },
        complete: false
      }
      this.pending.push(entry)
      this.byId.set(m.torrentid, entry)
      return
    }
    if (!isTorrentStatusUpdate(m)) return
    const entry = this.byId.get(m.torrentid)
    if (entry === undefined || entry.complete) return
    if (isComplete(m)) {
      entry.complete = true
      this.flush(t)
    } else if (isFailed(m)) {
      // a lost chunk would hold back every later one forever: say so
      this.done = true
      this.sink.error(t, new TorrentFailedError(m.torrentid, m.statsdictionary.activity))
      this.upstream.dispose()
    }
  }

  /** Emits the complete chunks at the head of the sequence. */
  private flush(t: Time): void {
    while (this.pending.length > 0 && this.pending[0]!.complete) {
      const { chunk } = this.pending.shift()!
      this.byId.set(chunk.torrentid, { chunk, complete: true })
      this.sink.event(t, chunk)
    }
  }
}

/**
 * The torrents of a feedback stream as a sequence: each torrent (in the
 * order its `NewTorrentCreated` arrived) is emitted once it is complete and
 * every torrent created before it was emitted, so chunks published as
 * separate torrents come out in order however their downloads interleave
 * (the original's radio peer). A torrent that fails before it completes
 * fails the stream with a {@link TorrentFailedError}, since every later chunk
 * would wait for it forever. Creations that fail to start take no place in
 * the sequence.
 *
 * @example
 * ```ts
 * import { runEffects, tap } from '@most/core'
 * const feedback = downloadAll(service, chunkTorrents)
 * const play = tap((c: OrderedChunk) => console.log(c.index, c.name), orderedChunks(feedback))
 * await runEffects(play, scheduler)
 * ```
 */
export const orderedChunks = (feedback: Stream<Feedback>): Stream<OrderedChunk> => new OrderedChunks(feedback)
