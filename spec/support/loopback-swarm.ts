/**
 * A loopback swarm for service-level tests: many small single-file torrents of
 * random data, made in memory (no tracker: peers are given explicitly), seeded
 * by one instance of the real engine on 127.0.0.1; and a spy that wraps an
 * engine to see every command reaching it and every feedback leaving it.
 */
import { createHash, randomFillSync } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import { torrentClient, type ClientOptions } from '../../lib/engine/index.ts'
import type { Engine } from '../../lib/service/index.ts'
import {
  createNewTorrent,
  isNewTorrentCreated,
  isTorrentStatusUpdate,
  type EngineCommand,
  type EngineFeedback
} from '../../lib/messages.ts'
import { bencode } from '../../lib/engine/metainfo/bencode-encode.ts'
import { collect, PushSource } from './most.ts'
import { freePort } from './peers/ports.ts'
import { pollUntil } from './peers/wait.ts'

/** One torrent of the swarm. */
export interface SwarmTorrent {
  readonly index: number
  readonly name: string
  readonly size: number
  /** Bytes of the .torrent. */
  readonly bytes: Uint8Array
  /** 40 hex digits. */
  readonly infoHash: string
}

/** A running seeder and its torrents. */
export interface Swarm {
  readonly torrents: readonly SwarmTorrent[]
  /** "127.0.0.1:PORT" of the seeding engine. */
  readonly peer: string
  readonly seedDir: string
  /** Time to write the data and have the seeder check it, ms. */
  readonly setupMs: number
  close(): void
}

/** Options of {@link startSwarm}. */
export interface SwarmOptions {
  /** Folder for the seeder's data (created). */
  readonly dir: string
  /** Size of each torrent in bytes. */
  readonly sizes: readonly number[]
  /** Piece length (power of two, at least 16 KiB); default 32 KiB. */
  readonly pieceLength?: number
  /** Extra options for the seeding engine. */
  readonly seeder?: ClientOptions
}

const sha1 = (b: Uint8Array): Buffer => createHash('sha1').update(b).digest()

/** A single-file v1 torrent of `data`, without any tracker. */
export function torrentOf (name: string, data: Uint8Array, pieceLength: number): { bytes: Uint8Array; infoHash: string } {
  const hashes: Buffer[] = []
  for (let at = 0; at < data.length; at += pieceLength) hashes.push(sha1(data.subarray(at, at + pieceLength)))
  const info = { length: data.length, name, 'piece length': pieceLength, pieces: new Uint8Array(Buffer.concat(hashes)) }
  return { bytes: bencode({ info }), infoHash: sha1(bencode(info)).toString('hex') }
}

/**
 * Write random data for each size, make its torrent, and seed all of them
 * from one engine instance listening on 127.0.0.1. Resolves once every
 * torrent reports "seeding".
 *
 * @example
 * const swarm = await startSwarm({ dir: join(tmp.path, 'seed'), sizes: [256 << 10, 1 << 20] })
 * t.after(() => swarm.close())
 */
export async function startSwarm (options: SwarmOptions): Promise<Swarm> {
  const started = Date.now()
  const pieceLength = options.pieceLength ?? 32 * 1024
  await mkdir(options.dir, { recursive: true })
  const torrents: SwarmTorrent[] = []
  for (const [index, size] of options.sizes.entries()) {
    const name = `t${index}.bin`
    const data = new Uint8Array(size)
    randomFillSync(data)
    await writeFile(join(options.dir, name), data)
    torrents.push({ index, name, size, ...torrentOf(name, data, pieceLength) })
  }
  const port = await freePort()
  const commands = new PushSource<EngineCommand>()
  const out = collect<EngineFeedback>(
    torrentClient({ port, host: '127.0.0.1', hasherWorkers: 0, statusInterval: 60_000, maxConns: 5000, maxConnsPerTorrent: 50, ...options.seeder })(commands)
  )
  try {
    for (const t of torrents) commands.event(createNewTorrent(t.bytes, { savefolder: options.dir }))
    const ids = await pollUntil(() => {
      const created = out.events.filter(isNewTorrentCreated)
      return created.length === torrents.length ? created.map((c) => c.torrentid) : undefined
    }, { timeoutMs: 60_000, intervalMs: 20, what: 'seeder creation replies', explain: () => JSON.stringify(out.events.slice(-3)) })
    const seeding = new Set<string>()
    await pollUntil(() => {
      for (const m of out.events) if (isTorrentStatusUpdate(m) && m.statsdictionary.activity === 'seeding') seeding.add(m.torrentid)
      return ids.every((id) => seeding.has(id))
    }, { timeoutMs: 60_000, intervalMs: 20, what: 'seeder checked its data' })
    // Drop what was collected: a long test should not keep the seeder's chatter.
    out.events.length = 0
  } catch (e) {
    out.dispose()
    throw e
  }
  return { torrents, peer: `127.0.0.1:${port}`, seedDir: options.dir, setupMs: Date.now() - started, close: () => out.dispose() }
}

/** Callbacks of {@link spyEngine}. */
export interface EngineSpy {
  /** A command is about to reach the engine. */
  command?(cmd: EngineCommand): void
  /** The engine emitted `fb`; called before the service routes it. */
  before?(fb: EngineFeedback): void
  /** Called after the service routed `fb` (synchronously, unless re-entered). */
  after?(fb: EngineFeedback): void
  /** The engine's run was disposed. */
  disposed?(): void
}

class SpySink implements Sink<EngineFeedback> {
  constructor (private readonly sink: Sink<EngineFeedback>, private readonly spy: EngineSpy) {}
  event (t: number, fb: EngineFeedback): void {
    this.spy.before?.(fb)
    this.sink.event(t, fb)
    this.spy.after?.(fb)
  }

  end (t: number): void { this.sink.end(t) }
  error (t: number, e: Error): void { this.sink.error(t, e) }
}

class SpyCommands implements Stream<EngineCommand> {
  constructor (private readonly commands: Stream<EngineCommand>, private readonly spy: EngineSpy) {}
  run (sink: Sink<EngineCommand>, scheduler: Scheduler): Disposable {
    const spy = this.spy
    return this.commands.run({
      event: (t, c) => { spy.command?.(c); sink.event(t, c) },
      end: (t) => sink.end(t),
      error: (t, e) => sink.error(t, e)
    }, scheduler)
  }
}

/**
 * Wrap `engine` so that `spy` sees what crosses its boundary.
 *
 * @example
 * const service = torrentService(spyEngine(torrentClient(), { command: (c) => log.push(c) }))
 */
export const spyEngine = (engine: Engine, spy: EngineSpy): Engine => (commands) => ({
  run (sink, scheduler) {
    const d = engine(new SpyCommands(commands, spy)).run(new SpySink(sink, spy), scheduler)
    return { dispose () { try { d.dispose() } finally { spy.disposed?.() } } }
  }
})
