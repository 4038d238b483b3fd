/**
 * The patron, after Kamaelia's TorrentPatron: a stream transformer from a
 * patron's commands to its feedback, through a shared {@link TorrentService}.
 *
 * @module
 */
import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import type { Command, Feedback } from './messages.ts'
import type { PatronConnection, TorrentService } from './service/service.ts'

/** Passes a patron's commands to its service connection. */
class CommandSink implements Sink<Command> {
  active = true
  constructor(private readonly line: PatronConnection) {}

  event(_t: number, command: Command): void {
    if (this.active) this.line.send(command)
  }

  end(_t: number): void {
    if (this.active) this.line.commandsEnded()
  }

  error(_t: number, err: Error): void {
    if (!this.active) return
    this.active = false
    this.line.commandsFailed(err)
  }
}

/** Disposing a patron's output: stop reading its commands, then leave. */
class PatronDisposable implements Disposable {
  constructor(
    private readonly commandSink: CommandSink,
    private readonly commands: Disposable,
    private readonly line: PatronConnection
  ) {}

  private disposed = false

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.commandSink.active = false
    try {
      this.commands.dispose()
    } finally {
      this.line.leave()
    }
  }
}

/** The patron stream: each run is one patron of the service. */
class Patron implements Stream<Feedback> {
  constructor(
    private readonly service: TorrentService,
    private readonly commands: Stream<Command>
  ) {}

  run(sink: Sink<Feedback>, scheduler: Scheduler): Disposable {
    // Connect first: the commands may start flowing synchronously.
    const line = this.service.connect(sink, scheduler)
    const commandSink = new CommandSink(line)
    let d: Disposable
    try {
      d = this.commands.run(commandSink, scheduler)
    } catch (e) {
      line.leave()
      throw e
    }
    return new PatronDisposable(commandSink, d, line)
  }
}

/**
 * Curried form of {@link torrentPatron}.
 *
 * @example
 * ```ts
 * const patronOf: PatronOf = torrentPatron(service)
 * const out = patronOf(commands)
 * ```
 */
export type PatronOf = (commands: Stream<Command>) => Stream<Feedback>

/**
 * A patron of `service`: sends `commands` to the service's engine and emits
 * the feedback that belongs to it (the replies to its creations, in order;
 * status updates of the torrents it owns; refusals of its invalid commands).
 * Each run of the returned stream is a separate patron; run as many as you
 * like on one service.
 *
 * Lifetime: disposing the output leaves the service (pending replies
 * dropped, owned torrents released and closed if no one else owns them).
 * When `commands` ends the patron stays, and its output ends once it has no
 * creation pending and owns no torrent. When `commands` fails, the patron
 * leaves and its output fails with the same error. When the engine stops,
 * pending creations get TorrentStartFail and the output ends (or fails, if
 * the engine failed).
 *
 * @example
 * ```ts
 * import { now, runEffects, tap } from '@most/core'
 * import { newDefaultScheduler } from '@most/scheduler'
 * const out = torrentPatron(service, now(createNewTorrent(bytes)))
 * // or curried, @most/core style:
 * const out2 = torrentPatron(service)(now(createNewTorrent(bytes)))
 * await runEffects(tap((m) => console.log(m.type), out), newDefaultScheduler())
 * ```
 */
export function torrentPatron(service: TorrentService): PatronOf
export function torrentPatron(service: TorrentService, commands: Stream<Command>): Stream<Feedback>
export function torrentPatron(service: TorrentService, commands?: Stream<Command>): PatronOf | Stream<Feedback> {
  if (commands === undefined) return (cs: Stream<Command>) => new Patron(service, cs)
  return new Patron(service, commands)
}
