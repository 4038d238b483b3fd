/**
 * Driving this project's engine from a bench child process: whether it is
 * there yet, and a command source to push CreateNewTorrent / CloseTorrent
 * into `torrentClient(options)` while reading its feedback.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { currentTime } from '@most/scheduler'
import { newDefaultScheduler } from '@most/scheduler'
import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import type { EngineCommand, EngineFeedback } from '../../lib/messages.ts'
import { projectRoot } from './paths.ts'

/** Engine files each bench needs; a bench prints "not available yet" while any is missing. */
export const ENGINE_PARTS = {
  client: 'lib/engine/client/client.ts',
  checker: 'lib/engine/disk/checker.ts',
  storage: 'lib/engine/disk/file-storage.ts',
  hasher: 'lib/engine/disk/hasher.ts',
  metainfo: 'lib/engine/metainfo/index.ts'
} as const

/** True when every named engine file exists in the tree. */
export const engineHas = (...parts: (keyof typeof ENGINE_PARTS)[]): boolean =>
  parts.every((p) => existsSync(join(projectRoot, ENGINE_PARTS[p])))

/**
 * A push source of engine commands: `push` after the engine has subscribed,
 * `end` to finish the command stream.
 */
export class CommandSource implements Stream<EngineCommand> {
  private sink: Sink<EngineCommand> | undefined
  private scheduler: Scheduler | undefined

  run(sink: Sink<EngineCommand>, scheduler: Scheduler): Disposable {
    this.sink = sink
    this.scheduler = scheduler
    return { dispose: () => (this.sink = undefined) }
  }

  push(command: EngineCommand): void {
    if (this.sink && this.scheduler) this.sink.event(currentTime(this.scheduler), command)
  }

  end(): void {
    if (this.sink && this.scheduler) this.sink.end(currentTime(this.scheduler))
  }
}

/** The engine's shape (lib/engine/client/client.ts `Engine`), restated so the bench typechecks without it. */
export type EngineFn = (commands: Stream<EngineCommand>) => Stream<EngineFeedback>

/**
 * Run `engine(commands)` on a fresh scheduler, feeding each feedback message
 * to `onFeedback`. The engine keeps running until the returned Disposable is
 * disposed (its end of commands does not stop torrents).
 */
export const startEngine = (
  engine: EngineFn,
  commands: CommandSource,
  onFeedback: (f: EngineFeedback) => void,
  onError: (e: Error) => void
): Disposable =>
  engine(commands).run(
    {
      event: (_t, f) => onFeedback(f),
      end: () => {},
      error: (_t, e) => onError(e)
    },
    newDefaultScheduler()
  )

/** Parse `--name value` pairs (repeatable names collect into arrays). */
export const argValues = (argv: readonly string[], name: string): string[] => {
  const out: string[] = []
  for (let i = 0; i < argv.length - 1; i++) if (argv[i] === `--${name}`) out.push(argv[i + 1]!)
  return out
}

/** Print one JSON line on stdout (what the bench parent reads). */
export const report = (value: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(value) + '\n')
}

/**
 * A bench child's `--transport` value as client options: `tcp` (no uTP),
 * `utp` (uTP only), absent (both); anything else exits with a usage error.
 *
 * @example
 * ```ts
 * torrentClient({ ...transportOptions(argValues(argv, 'transport')[0]) })
 * ```
 */
export const transportOptions = (value: string | undefined): { tcp?: boolean; utp?: boolean } => {
  if (value === undefined) return {}
  if (value === 'tcp') return { utp: false }
  if (value === 'utp') return { tcp: false }
  console.error(`--transport ${value}: tcp or utp`)
  process.exit(2)
}
