/**
 * An in-memory engine that obeys the engine contract, for tests of the
 * service. rawmetainfo is read as text: `bad...` cannot be decoded (the model
 * answers TorrentStartFail), anything else is `<infohash>[#tag]`: the part
 * before `#` plays the info hash (a running torrent with the same hash gives
 * TorrentAlreadyDownloading), the whole string is the request's tag under
 * which the model records the reply it chose.
 *
 * Replies are decided when the command arrives and emitted in request order,
 * either synchronously or each after `delay(label)` resolves (plug
 * fast-check's scheduler in there to choose latencies).
 */
import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import type { Engine } from '../../lib/service/index.ts'
import {
  emptyStats,
  newTorrentCreated,
  torrentAlreadyDownloading,
  torrentStartFail,
  torrentStatusUpdate,
  type CreationReply,
  type EngineCommand,
  type EngineFeedback,
  type TorrentId
} from '../../lib/messages.ts'

export interface EngineModelOptions {
  /** Wait before emitting the next reply; absent: reply synchronously. */
  delay?: (label: string) => Promise<unknown>
  /** Called when a CloseTorrent reaches the engine, before it takes effect. */
  onClose?: (id: TorrentId, running: boolean) => void
  /** Keep the logs `received`, `replyFor` and `hashOf` (default true; benches turn it off). */
  record?: boolean
  /** Called while a run is being disposed (after its torrents stopped). */
  onDispose?: () => void
}

/** One run of the engine (one service session). */
class ModelRun implements Disposable {
  live = true
  readonly running = new Map<TorrentId, string>()
  readonly byHash = new Map<string, TorrentId>()
  readonly outbox: CreationReply[] = []
  commandsEnded = false
  commandsDisposable: Disposable | undefined

  constructor(
    readonly model: EngineModel,
    readonly sink: Sink<EngineFeedback>,
    readonly scheduler: Scheduler
  ) {}

  emit(msg: EngineFeedback): void {
    if (this.live) this.sink.event(this.scheduler.currentTime(), msg)
  }

  emitNextReply(): void {
    const r = this.outbox.shift()
    if (r !== undefined) this.emit(r)
  }

  dispose(): void {
    if (!this.live) return
    this.live = false
    this.running.clear()
    this.byHash.clear()
    this.commandsDisposable?.dispose()
    this.model.onDispose()
  }
}

class CommandSink implements Sink<EngineCommand> {
  constructor(private readonly run: ModelRun) {}
  event(_t: number, cmd: EngineCommand): void {
    this.run.model.receive(this.run, cmd)
  }
  end(): void {
    this.run.commandsEnded = true
  }
  error(): void {
    this.run.commandsEnded = true
  }
}

/**
 * The model engine. `model.engine` is the {@link Engine}; the rest is for
 * assertions and for driving it (ticks of status updates, ending, failing).
 */
export class EngineModel {
  readonly runs: ModelRun[] = []
  /** Every command that reached the engine, in order. */
  readonly received: EngineCommand[] = []
  /** The reply chosen for each tagged request (unless `record: false`). */
  readonly replyFor = new Map<string, CreationReply>()
  /** Info hash of every torrent id ever created (unless `record: false`). */
  readonly hashOf = new Map<TorrentId, string>()
  private nextId = 1

  constructor(private readonly opts: EngineModelOptions = {}) {}

  readonly engine: Engine = (commands: Stream<EngineCommand>): Stream<EngineFeedback> => ({
    run: (sink, scheduler) => {
      const run = new ModelRun(this, sink, scheduler)
      this.runs.push(run)
      run.commandsDisposable = commands.run(new CommandSink(run), scheduler)
      return run
    }
  })

  /** Runs not yet disposed. */
  get liveRuns(): number {
    return this.runs.filter((r) => r.live).length
  }

  /** Torrents running in live runs. */
  get running(): Map<TorrentId, string> {
    const all = new Map<TorrentId, string>()
    for (const r of this.runs) if (r.live) for (const [k, v] of r.running) all.set(k, v)
    return all
  }

  /** Ids of created torrents whose NewTorrentCreated is not emitted yet. */
  unrepliedIds(): Set<TorrentId> {
    const ids = new Set<TorrentId>()
    for (const r of this.runs) if (r.live) for (const m of r.outbox) if (m.type === 'NewTorrentCreated') ids.add(m.torrentid)
    return ids
  }

  /** Emit one status update for every running torrent; `n` goes in piecesDone. */
  tick(n: number): void {
    for (const r of this.runs) {
      if (!r.live) continue
      for (const id of [...r.running.keys()]) r.emit(torrentStatusUpdate(id, { ...emptyStats, piecesDone: n }))
    }
  }

  /** Emit a status update for an arbitrary id (unknown ids included). */
  update(id: TorrentId, n = 0): void {
    for (const r of this.runs) r.emit(torrentStatusUpdate(id, { ...emptyStats, piecesDone: n }))
  }

  /** End the output of every live run, as an engine that stops by itself. */
  endAll(): void {
    for (const r of this.runs) if (r.live) r.sink.end(r.scheduler.currentTime())
  }

  /** Fail the output of every live run. */
  failAll(err: Error): void {
    for (const r of this.runs) if (r.live) r.sink.error(r.scheduler.currentTime(), err)
  }

  /** @internal */
  onDispose(): void {
    this.opts.onDispose?.()
  }

  /** @internal */
  receive(run: ModelRun, cmd: EngineCommand): void {
    if (this.opts.record !== false) this.received.push(cmd)
    if (cmd.type === 'CloseTorrent') {
      this.opts.onClose?.(cmd.torrentid, run.running.has(cmd.torrentid))
      const hash = run.running.get(cmd.torrentid)
      if (hash !== undefined) run.byHash.delete(hash)
      run.running.delete(cmd.torrentid) // unknown ids: harmless
      return
    }
    if (cmd.type === 'SetFilePriority') return // recorded above; no reply
    const tag = typeof cmd.rawmetainfo === 'string' ? cmd.rawmetainfo : new TextDecoder().decode(cmd.rawmetainfo)
    let reply: CreationReply
    if (tag.startsWith('bad')) reply = torrentStartFail('undecodable metainfo')
    else {
      const cut = tag.indexOf('#')
      const hash = cut < 0 ? tag : tag.slice(0, cut)
      const existing = run.byHash.get(hash)
      if (existing !== undefined) reply = torrentAlreadyDownloading(existing)
      else {
        const id = `T${this.nextId++}`
        run.running.set(id, hash)
        run.byHash.set(hash, id)
        if (this.opts.record !== false) this.hashOf.set(id, hash)
        reply = newTorrentCreated(id, '/dl')
      }
    }
    if (this.opts.record !== false) this.replyFor.set(tag, reply)
    run.outbox.push(reply)
    if (this.opts.delay === undefined) run.emitNextReply()
    else void this.opts.delay(`reply to ${tag}`).then(() => run.emitNextReply())
  }
}
