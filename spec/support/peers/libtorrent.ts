/**
 * python3-libtorrent (Debian's, for /usr/bin/python3) as a test peer on 127.0.0.1, run by
 * libtorrent-peer.py: seeds when its save folder holds the data, downloads otherwise, dials
 * the peers it is given, and logs every BitTorrent message it sends or receives, so tests
 * can check which BEP 6 messages crossed the wire.
 */
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { spawnLogged, type ChildHandle } from './process.ts'
import { makeTempDir } from './tmp.ts'
import { FatalPollError, pollUntil } from './wait.ts'

const SCRIPT = fileURLToPath(new URL('./libtorrent-peer.py', import.meta.url))

/** One line libtorrent-peer.py printed. */
export type LibtorrentEvent =
  | { type: 'listening'; port: number }
  | { type: 'status'; state: string; progress: number; peers: number; pieces: number; seeding: boolean }
  | { type: 'peer_log'; msg: string; event: string; dir: string; ip: string; t: number }
  | { type: 'error'; msg: string }

/** A running libtorrent peer. */
export interface LibtorrentPeer {
  readonly port: number
  readonly process: ChildHandle
  /** Everything it printed so far. */
  events(): Promise<LibtorrentEvent[]>
  /** Its messages on the wire, as libtorrent logs them (e.g. `<== HAVE_ALL`, `==> ALLOWED_FAST [ 3 ]`). */
  wireLog(): Promise<string[]>
  /** The same, read at once (for a timeout's explanation). */
  wireLogNow(): string[]
  /** Resolves once its latest status satisfies `ok`. */
  waitForStatus(ok: (s: Extract<LibtorrentEvent, { type: 'status' }>) => boolean, what: string, timeoutMs?: number): Promise<void>
  /** Kills it and removes its log folder. Safe to call twice. */
  close(): Promise<void>
}

/** Options of {@link startLibtorrent}. */
export interface LibtorrentOptions {
  readonly torrent: string
  /** Data folder (the data is seeded when present). */
  readonly save: string
  /** libtorrent settings_pack entries, e.g. `{ unchoke_slots_limit: 0 }`. */
  readonly settings?: Record<string, string | number | boolean>
  /** Apply unchoke slots to peers on 127.0.0.1 too (libtorrent's local peer class ignores them). */
  readonly strictLocal?: boolean
  /** Peers to dial once the torrent is checked. */
  readonly connect?: ReadonlyArray<readonly [string, number]>
  /** Upload limit (bytes/s) for peers on 127.0.0.1 (libtorrent's local peer class has none of its own). */
  readonly localUploadLimit?: number
}

/**
 * Starts a libtorrent peer and waits until it listens.
 *
 * @example
 * const lt = await startLibtorrent({ torrent: made.path, save: seedDir })
 * t.after(() => lt.close())
 */
export async function startLibtorrent (options: LibtorrentOptions): Promise<LibtorrentPeer> {
  const dir = await makeTempDir('libtorrent-')
  const arg = JSON.stringify({ torrent: options.torrent, save: options.save, port: 0, settings: options.settings ?? {}, connect: options.connect ?? [], strictLocal: options.strictLocal === true, localUploadLimit: options.localUploadLimit ?? 0 })
  const proc = spawnLogged('/usr/bin/python3', [SCRIPT, arg], { logPath: join(dir.path, 'libtorrent.log'), graceMs: 1000 })
  const parse = (text: string): LibtorrentEvent[] => text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return []
    try { return [JSON.parse(line) as LibtorrentEvent] } catch { return [] }
  })
  const events = async (): Promise<LibtorrentEvent[]> => parse(await proc.readLog())
  const messages = (all: LibtorrentEvent[]): string[] => all.flatMap((e) => e.type === 'peer_log' ? [e.msg] : [])
  let port = 0
  try {
    await pollUntil(async () => {
      const l = (await events()).find((e) => e.type === 'listening')
      if (l?.type === 'listening') port = l.port
      if (proc.exitInfo() !== undefined) throw new FatalPollError(`libtorrent-peer.py exited: ${proc.logTail()}`)
      return port !== 0
    }, { timeoutMs: 20_000, intervalMs: 50, what: 'libtorrent to listen', explain: () => proc.logTail() })
  } catch (err) {
    await proc.close()
    await dir.close()
    throw err
  }
  let closing: Promise<void> | undefined
  return {
    port,
    process: proc,
    events,
    wireLog: async () => messages(await events()),
    wireLogNow: () => {
      try { return messages(parse(readFileSync(proc.logPath, 'utf8'))) } catch { return [] }
    },
    waitForStatus: async (ok, what, timeoutMs = 60_000) => {
      await pollUntil(async () => {
        const statuses = (await events()).filter((e) => e.type === 'status')
        const last = statuses[statuses.length - 1]
        return last?.type === 'status' && ok(last)
      }, { timeoutMs, intervalMs: 100, what, explain: () => proc.logTail() })
    },
    close: () => {
      closing ??= (async () => {
        await proc.close()
        await dir.close()
      })()
      return closing
    }
  }
}
