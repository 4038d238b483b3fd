/**
 * A torrent downloading from a rate-limited aria2c seeder into the real
 * engine, with its read streams and the project's HTTP server on top: what
 * the streaming specs share.
 */
import { dirname, join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { torrentClient, type TorrentHandle } from '../../lib/engine/index.ts'
import { createNewTorrent, closeTorrent, isNewTorrentCreated, isTorrentStatusUpdate, type EngineCommand, type EngineFeedback, type FilePriority, type TorrentStats } from '../../lib/messages.ts'
import { makeTorrent } from '../../lib/maker/index.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import type { TorrentStreams } from '../../lib/engine/stream/torrent-streams.ts'
import { startStreamServer, type StreamServer, type ServedTorrent } from '../../lib/stream/http-server.ts'
import { servedTorrent } from '../../lib/stream/serve-torrent.ts'
import { collect, PushSource } from '../support/most.ts'
import { startAria2Seeder, type Aria2Handle } from '../support/peers/aria2.ts'
import { pollUntil } from '../support/peers/wait.ts'

type After = { after(fn: () => unknown): void }

/** aria2c seeding `content` (a file or a folder) at `bytesPerSec`; the .torrent's bytes. */
export async function seed(t: After, content: string, torrentPath: string, bytesPerSec: number, pieceLength = 65536): Promise<{ bytes: Uint8Array; seeder: Aria2Handle }> {
  const bytes = await makeTorrent(content, { announce: ['http://127.0.0.1:9/announce'], pieceLength })
  await writeFile(torrentPath, bytes)
  const seeder = await startAria2Seeder({ torrentPath, dir: dirname(content), maxUploadBytesPerSec: bytesPerSec, logLevel: 'warn' })
  t.after(() => seeder.close())
  return { bytes, seeder }
}

/** A running engine with one torrent, its handle, and the torrent's latest stats. */
export interface Running {
  readonly id: string
  readonly handle: TorrentHandle
  readonly streams: TorrentStreams
  readonly commands: PushSource<EngineCommand>
  readonly events: EngineFeedback[]
  stats(): TorrentStats | undefined
  /** Resolves with the stats once the torrent seeds (fails on an error status). */
  complete(timeoutMs: number): Promise<TorrentStats>
  close(): void
}

export async function start(
  t: After,
  bytes: Uint8Array,
  savefolder: string,
  peers: readonly string[],
  priorities?: readonly FilePriority[],
): Promise<Running> {
  const handles = new Map<string, TorrentHandle>()
  const commands = new PushSource<EngineCommand>()
  const out = collect<EngineFeedback>(torrentClient({ statusInterval: 200, dht: false, onTorrent: (id, h) => handles.set(id, h) })(commands))
  t.after(() => out.dispose())
  commands.event(createNewTorrent(bytes, { savefolder, peers, ...(priorities !== undefined ? { priorities } : {}) }))
  const created = await pollUntil(() => out.events.find(isNewTorrentCreated), { timeoutMs: 20_000, what: 'NewTorrentCreated', explain: () => JSON.stringify(out.events) })
  const id = created.torrentid
  const handle = await pollUntil(() => handles.get(id), { timeoutMs: 5000, what: 'handle' })
  const streams = await pollUntil(() => handle.streams(), { timeoutMs: 20_000, what: 'streams' })
  const stats = () => out.events.filter(isTorrentStatusUpdate).filter((m) => m.torrentid === id).at(-1)?.statsdictionary
  return {
    id,
    handle,
    streams,
    commands,
    events: out.events,
    stats,
    complete: (timeoutMs) =>
      pollUntil(
        () => {
          const s = stats()
          if (s?.activity.startsWith('error')) throw new Error(s.activity)
          return s?.activity === 'seeding' ? s : undefined
        },
        { timeoutMs, what: 'complete', explain: () => JSON.stringify(stats()) },
      ),
    close: () => commands.event(closeTorrent(id)),
  }
}

/** The project's HTTP server over a running torrent. */
export async function serve(t: After, run: Running, name = 'torrent'): Promise<{ srv: StreamServer; served: ServedTorrent }> {
  const served = servedTorrent(run.id, name, run.streams)
  const srv = await startStreamServer({ list: () => [served] })
  t.after(() => srv.close())
  return { srv, served }
}

export { join, parseMetainfo }
