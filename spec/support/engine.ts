/**
 * Drives one real engine in-process for a test: a push source of commands,
 * the collected feedback, the diagnostic handles, and waits on a torrent's
 * status. Disposed (sockets, files, workers closed) when the test ends.
 */
import { torrentClient, type ClientOptions, type TorrentHandle } from '../../lib/engine/index.ts'
import {
  createNewTorrent,
  isNewTorrentCreated,
  isTorrentStatusUpdate,
  type EngineCommand,
  type EngineFeedback,
  type TorrentStats
} from '../../lib/messages.ts'
import { collect, PushSource } from './most.ts'
import { pollUntil } from './peers/wait.ts'

/** Runs `torrentClient({ statusInterval: 200, ...options })` until the test ends. */
export const runEngine = (t: { after(fn: () => unknown): void }, options: ClientOptions = {}) => {
  const handles = new Map<string, TorrentHandle>()
  const commands = new PushSource<EngineCommand>()
  const out = collect<EngineFeedback>(
    torrentClient({ statusInterval: 200, ...options, onTorrent: (id, h) => handles.set(id, h) })(commands)
  )
  t.after(() => out.dispose())
  /** The torrent's last reported stats. */
  const latest = (id: string): TorrentStats | undefined =>
    out.events.filter(isTorrentStatusUpdate).filter((m) => m.torrentid === id).at(-1)?.statsdictionary
  /** Sends a CreateNewTorrent and resolves with the id of the torrent it created. */
  const create = async (bytes: Uint8Array | string, savefolder: string, peers: string[] = []): Promise<string> => {
    const before = out.events.filter(isNewTorrentCreated).length
    commands.event(createNewTorrent(bytes, { savefolder, peers }))
    const created = await pollUntil(() => out.events.filter(isNewTorrentCreated)[before], {
      timeoutMs: 10000,
      what: 'NewTorrentCreated',
      explain: () => JSON.stringify(out.events.at(-1))
    })
    return created.torrentid
  }
  /** Resolves with the first stats of `id` that satisfy `ok`. */
  const waitFor = (id: string, what: string, ok: (s: TorrentStats) => boolean, timeoutMs: number) =>
    pollUntil(() => {
      const s = latest(id)
      return s !== undefined && ok(s) ? s : undefined
    }, { timeoutMs, what, explain: () => JSON.stringify(latest(id)) })
  /** Resolves once `id` reports `activity`; an "error: ..." activity fails at once. */
  const waitActivity = (id: string, activity: string, timeoutMs: number) =>
    waitFor(id, `activity ${activity}`, (s) => {
      if (s.activity.startsWith('error')) throw new Error(s.activity)
      return s.activity === activity
    }, timeoutMs)
  const waitSeeding = (id: string, timeoutMs: number) => waitActivity(id, 'seeding', timeoutMs)
  return { commands, out, handles, latest, create, waitFor, waitActivity, waitSeeding }
}

/** Samples heapUsed + arrayBuffers every 20 ms; `peak()` is the highest rise over the start. */
export const memoryWatch = (): { peak(): number, stop(): void } => {
  const now = (): number => {
    const m = process.memoryUsage()
    return m.heapUsed + m.arrayBuffers
  }
  const base = now()
  let top = base
  const timer = setInterval(() => {
    top = Math.max(top, now())
  }, 20)
  return { peak: () => Math.max(top, now()) - base, stop: () => clearInterval(timer) }
}
