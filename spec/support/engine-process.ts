/**
 * The engine in a child process, so a test can SIGKILL it like a crash.
 *
 * Run as a script (`node --import tsx spec/support/engine-process.ts '<json>'`),
 * this file starts torrentClient + torrentService + one patron, sends one
 * CreateNewTorrent for a .torrent on disk and prints every feedback message as
 * one JSON line on stdout until it is killed (SIGTERM closes the torrent
 * cleanly first; SIGKILL is the crash). Imported, it gives the parent side:
 * {@link startEngineProcess}.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { spawnLogged, type ChildHandle, type ExitInfo } from './peers/process.ts'
import { makeTempDir } from './peers/tmp.ts'
import { pollUntil } from './peers/wait.ts'
import type { Feedback, TorrentStats } from '../../lib/messages.ts'

/** What the child is asked to do. */
export interface EngineProcessOptions {
  /** A .torrent file. */
  readonly torrentPath: string
  /** Save folder given in CreateNewTorrent. */
  readonly savefolder: string
  /** Explicit peers ("127.0.0.1:PORT") given in CreateNewTorrent. */
  readonly peers?: readonly string[]
  /** Listen port (default: random). */
  readonly port?: number
  /** Status interval in ms (default 200). */
  readonly statusInterval?: number
}

/** A running engine child. */
export interface EngineProcess {
  readonly process: ChildHandle
  /** Every feedback message printed so far, oldest first (re-read from the log on each call). */
  messages(): Promise<Feedback[]>
  /** Status dictionaries printed so far, oldest first. */
  statuses(): Promise<TorrentStats[]>
  /** Polls the statuses until `pred` holds for the newest one; returns it. Rejects after `timeoutMs`, on exit, or on an "error" activity. */
  waitStatus(pred: (s: TorrentStats, all: readonly TorrentStats[]) => boolean, timeoutMs: number, what: string): Promise<TorrentStats>
  /** SIGKILL the child (the crash) and wait for it to be gone. */
  kill(): Promise<ExitInfo>
  /** SIGTERM (clean close), SIGKILL after a grace period; removes the log. Safe to call twice. */
  close(): Promise<void>
}

const self = fileURLToPath(import.meta.url)
const root = fileURLToPath(new URL('../..', import.meta.url))

const parseLines = (text: string): Feedback[] => {
  const out: Feedback[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      out.push(JSON.parse(line) as Feedback)
    } catch {
      // a line cut by SIGKILL in mid-write
    }
  }
  return out
}

/**
 * Starts the engine in a child process.
 *
 * @example
 * const engine = await startEngineProcess({ torrentPath, savefolder: out, peers: [seeder.peer] })
 * t.after(() => engine.close())
 * await engine.waitStatus((s) => s.fractionDone > 0.3, 30_000, 'a third done')
 * await engine.kill()
 */
export async function startEngineProcess(options: EngineProcessOptions): Promise<EngineProcess> {
  const logDir = await makeTempDir('engine-proc-')
  const child = spawnLogged(process.execPath, ['--import', 'tsx', self, JSON.stringify(options)], {
    logPath: join(logDir.path, 'engine.log'),
    cwd: root,
    graceMs: 5000
  })
  const messages = async (): Promise<Feedback[]> => parseLines(await child.readLog())
  const statuses = async (): Promise<TorrentStats[]> =>
    (await messages()).flatMap((m) => (m.type === 'TorrentStatusUpdate' ? [m.statsdictionary] : []))
  let closing: Promise<void> | undefined
  return {
    process: child,
    messages,
    statuses,
    waitStatus: (pred, timeoutMs, what) => {
      let last: TorrentStats | undefined
      return pollUntil(
        async () => {
          const all = await statuses()
          last = all.at(-1)
          if (last?.activity.startsWith('error')) throw new Error(`engine: ${last.activity}`)
          if (child.exitInfo() !== undefined) throw new Error(`engine process exited: ${JSON.stringify(child.exitInfo())}`)
          return last !== undefined && pred(last, all) ? last : undefined
        },
        { timeoutMs, intervalMs: 100, what, explain: () => `last status: ${JSON.stringify(last)}\n${child.logTail(10)}` }
      )
    },
    kill: async () => {
      child.signal('SIGKILL')
      return await child.exited
    },
    close: () => {
      closing ??= (async () => {
        await child.close()
        await logDir.close()
      })()
      return closing
    }
  }
}

// ---------------------------------------------------------------------------
// child side

async function main(options: EngineProcessOptions): Promise<void> {
  const { torrentClient } = await import('../../lib/engine/index.ts')
  const { torrentService } = await import('../../lib/service/index.ts')
  const { torrentPatron } = await import('../../lib/patron.ts')
  const { createNewTorrent, closeTorrent } = await import('../../lib/messages.ts')
  const { newDefaultScheduler } = await import('@most/scheduler')
  const { PushSource } = await import('../../lib/service/index.ts')
  type Command = import('../../lib/messages.ts').Command

  const bytes = new Uint8Array(await readFile(options.torrentPath))
  const service = torrentService(
    torrentClient({
      statusInterval: options.statusInterval ?? 200,
      ...(options.port !== undefined ? { port: options.port } : {})
    })
  )
  const commands = new PushSource<Command>()
  let id: string | undefined
  const print = (m: unknown): void => {
    process.stdout.write(`${JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}\n`)
  }
  const run = torrentPatron(service, commands).run(
    {
      event: (_t, m: Feedback) => {
        if (m.type === 'NewTorrentCreated') id = m.torrentid
        print(m)
      },
      end: () => print({ type: 'End' }),
      error: (_t, e) => print({ type: 'Error', message: e.message })
    },
    newDefaultScheduler()
  )
  commands.event(createNewTorrent(bytes, { savefolder: options.savefolder, peers: [...(options.peers ?? [])] }))
  // The parent's SIGTERM: close cleanly (resume data written, stopped announced), then exit.
  process.once('SIGTERM', () => {
    if (id !== undefined) commands.event(closeTorrent(id))
    setTimeout(() => {
      run.dispose()
      setTimeout(() => process.exit(0), 300)
    }, 1500)
  })
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main(JSON.parse(process.argv[2] ?? '{}') as EngineProcessOptions).catch((e: unknown) => {
    process.stdout.write(`engine-process failed: ${String(e)}\n`)
    process.exit(1)
  })
}
