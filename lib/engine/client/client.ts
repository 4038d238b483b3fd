/**
 * The engine: `torrentClient(options)` turns a stream of commands into a
 * stream of feedback, running real torrents in between.
 *
 * Each run of the returned stream is one engine instance (its own listener,
 * hasher pool and torrents); disposing the run closes all of it (stopped
 * announced, sockets, files, workers and timers released). The end of the
 * command stream does not stop running torrents; an error on it closes them
 * and is passed on.
 *
 * Choices worth knowing:
 * - Creation replies leave in request order: creations run one after another
 *   on a promise chain (parse, folder, file claims, storage), and the
 *   torrent's checking of existing data runs after its reply, reported as
 *   activity "checking".
 * - A relative save folder is resolved against the process's working
 *   directory; the folder is created if missing.
 * - Two running torrents never share a file: the client keeps the absolute
 *   path of every file each running torrent owns (file-claims.ts), and
 *   refuses a torrent that names a path already owned (TorrentStartFail
 *   saying which file and which torrent). Closing a torrent releases its paths.
 * - Options are resolved once per run (options.ts); the parts every torrent
 *   shares, and what a torrent and a magnet's metadata phase are given, come
 *   from services.ts.
 * - A magnet URI creates its torrent at once (activity "fetching metadata",
 *   see magnet-session.ts); the fetched metainfo is admitted later on the
 *   same creation chain (claims, storage). A v2-only .torrent that lacks
 *   piece layers starts the same way, with its metainfo known: only the
 *   layers come from peers. Torrents are keyed by v1 infohash
 *   whichever form started them (TorrentAlreadyDownloading across forms).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import type { Disposable, Scheduler, Sink, Stream } from '@most/types'
import {
  type CreateNewTorrent,
  type CreationReply,
  type EngineCommand,
  type EngineFeedback,
  type TorrentId,
  isCloseTorrent,
  isSetFilePriority,
  setFilePriority,
  torrentCommandRefused,
  type FilePriority,
  isCreateNewTorrent,
  newTorrentCreated,
  torrentAlreadyDownloading,
  torrentStartFail,
  torrentStatusUpdate
} from '../../messages.ts'
import type { Magnet, Metainfo } from '../contracts.ts'
import type { Engine } from '../../engine-contract.ts'
import { parseMagnet, parseMetainfo } from '../metainfo/index.ts'
import { v2SwarmKey } from '../wire/v2-upgrade.ts'
import { MagnetSession, magnetOf } from '../torrent/magnet-session.ts'
import { needsPieceLayers } from '../torrent/layer-fetcher.ts'
import { saveLayers, withKeptLayers } from '../disk/layer-store.ts'
import { openFileStorage } from '../disk/file-storage.ts'
import { openSelectiveStorage } from '../disk/selective-storage.ts'
import { loadPriorities } from '../disk/resume.ts'
import { isFilePriority, metaIndex, spreadPriorities } from '../download/priorities.ts'
import { Torrent } from '../torrent/torrent.ts'
import { obfuscatedHash } from './listener.ts'
import { resolveOptions, type ClientOptions, type ResolvedOptions, type TorrentHandle } from './options.ts'
import { ClientServices } from './services.ts'
import { FileClaims, filePaths } from './file-claims.ts'
import { prepareSaveFolder, type SaveFolder } from './save-folder.ts'

export type { ClientOptions, TorrentHandle, Engine }

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** The diagnostic view of a torrent that is `current()` (null: a magnet still fetching its metadata). */
const handleOf = (infoHash: string, current: () => Torrent | null): TorrentHandle => ({
  infoHash,
  peers: () => current()?.peerInfo() ?? [],
  contributed: () => current()?.contributed() ?? {},
  banned: () => current()?.bannedPeers() ?? [],
  restoredFrom: () => current()?.restoredFrom() ?? { source: 'empty', checked: 0 },
  streams: () => current()?.streams()
})

/**
 * The priorities asked for one torrent: the creation's list and its
 * `otherFiles`, then SetFilePriority changes by file (which win over the
 * list). A file's priority is its change, else its list entry, else `others`.
 */
interface Asked {
  readonly list: readonly FilePriority[] | undefined
  others: FilePriority
  readonly changes: Map<number, FilePriority>
}

/** One running instance of the engine (one run of its stream). */
class EngineInstance {
  /** Running torrents; a magnet's is a MagnetSession (metadata phase, then a Torrent). */
  private readonly torrents = new Map<TorrentId, Torrent | MagnetSession>()
  /** File priorities asked for each torrent (pad files not counted): a magnet's wait for its metadata. */
  private readonly wishes = new Map<TorrentId, Asked>()
  private readonly byInfoHash = new Map<string, TorrentId>()
  /** SHA-1("req2", infohash) of each running torrent, for peers' obfuscated (MSE) handshakes. */
  private readonly byObfuscatedHash = new Map<string, string>()
  /** The info hashes each torrent is known by to the listener (a hybrid's v1 hash and v2 key). */
  private readonly keys = new Map<TorrentId, readonly string[]>()
  private readonly claims = new FileClaims()
  private readonly services: ClientServices
  private chain: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout
  private tickTimer: NodeJS.Timeout
  private disposed = false
  private ending = false
  private readonly closing = new Set<Promise<void>>()

  constructor(
    private readonly options: ResolvedOptions,
    private readonly emit: (fb: EngineFeedback) => void,
    private readonly error: (e: Error) => void
  ) {
    this.services = new ClientServices(options, {
      adopt: (infoHash, socket, wire, peerId) => {
        const id = this.byInfoHash.get(infoHash)
        const t = id === undefined ? undefined : this.torrents.get(id)
        return t ? t.acceptIncoming(socket, wire, peerId, infoHash) : false
      },
      resolve: (hash) => this.byObfuscatedHash.get(hash)
    })
    this.timer = setInterval(() => this.statusAll(), options.statusInterval)
    this.tickTimer = setInterval(() => {
      for (const t of this.torrents.values()) t.tick()
    }, 1000)
  }

  command(cmd: EngineCommand): void {
    if (this.disposed || this.ending) return
    if (isCreateNewTorrent(cmd)) {
      this.chain = this.chain
        .then(() => this.create(cmd))
        .catch((e: unknown) => torrentStartFail(`internal error: ${describe(e)}`))
        .then((reply: CreationReply) => {
          if (!this.disposed) this.emit(reply)
        })
    } else if (isSetFilePriority(cmd)) {
      // On the chain like a close: a change right after its create finds the torrent.
      this.chain = this.chain.then(() => this.setFilePriority(cmd.torrentid, cmd.file, cmd.priority))
    } else if (isCloseTorrent(cmd)) {
      // After pending creations, so a close right after its create finds the torrent.
      this.chain = this.chain.then(() => {
        void this.closeTorrent(cmd.torrentid)
      })
    }
  }

  private async create(cmd: CreateNewTorrent): Promise<CreationReply> {
    if (this.disposed) return torrentStartFail('engine stopped')
    if (typeof cmd.rawmetainfo === 'string') return this.createMagnet(cmd, cmd.rawmetainfo)
    if (!(cmd.rawmetainfo instanceof Uint8Array)) return torrentStartFail('rawmetainfo must be the bytes of a .torrent file or a magnet URI')
    const parsed = await parseMetainfo(cmd.rawmetainfo, { acceptV2Only: true })
    if (!parsed.ok) return torrentStartFail(`bad metainfo: ${parsed.reason}`)
    let meta = parsed.value
    const bad = cmd.priorities === undefined && cmd.otherFiles === undefined ? null : spreadPriorities(meta.files, cmd.priorities, cmd.otherFiles)
    if (typeof bad === 'string') return torrentStartFail(`bad priorities: ${bad}`)
    const place = await this.placeFor(meta.infoHash, cmd)
    if ('type' in place) return place
    const { folder } = place
    // A v2-only torrent verifies pieces against its piece layers: those the .torrent lacks come from peers first,
    // unless an earlier start kept them.
    if (needsPieceLayers(meta)) meta = await withKeptLayers(folder, meta)
    if (needsPieceLayers(meta)) {
      const conflict = this.claims.conflict(filePaths(meta, folder))
      if (conflict !== null) return torrentStartFail(conflict)
      return this.startSession(cmd, place, magnetOf(meta), meta)
    }
    const id = randomBytes(12).toString('hex')
    this.asked(id, cmd)
    const torrent = await this.openTorrent(id, meta, place, [...this.options.peers, ...(cmd.peers ?? [])])
    if (typeof torrent === 'string') return torrentStartFail(torrent)
    // A hybrid is in two swarms (BEP 52): incoming handshakes may name its v2 key as well.
    const v2Key = v2SwarmKey(meta)
    this.register(id, meta.infoHash, torrent, handleOf(meta.infoHash, () => torrent), v2Key === null ? [] : [v2Key])
    return newTorrentCreated(id, folder, { infohash: meta.infoHash, name: meta.name })
  }

  /**
   * A magnet: the torrent exists at once (fetching metadata); when the info
   * dictionary arrives it is admitted like a .torrent file's, on the creation chain.
   */
  private async createMagnet(cmd: CreateNewTorrent, uri: string): Promise<CreationReply> {
    const parsed = parseMagnet(uri, { acceptV2Only: true })
    if (!parsed.ok) return torrentStartFail(`bad magnet link: ${parsed.reason}`)
    const magnet = parsed.value
    if (cmd.priorities !== undefined && (!Array.isArray(cmd.priorities) || !cmd.priorities.every(isFilePriority))) {
      return torrentStartFail('bad priorities: each must be skip, low, normal or high')
    }
    if (cmd.otherFiles !== undefined && !isFilePriority(cmd.otherFiles)) return torrentStartFail('bad priorities: otherFiles must be skip, low, normal or high')
    const place = await this.placeFor(magnet.infoHash, cmd)
    if ('type' in place) return place
    return this.startSession(cmd, place, magnet)
  }

  /**
   * A torrent that starts with a {@link MagnetSession}: a magnet's (its
   * metadata, then a v2-only one's piece layers, come from peers) or a v2-only
   * .torrent's that lacks piece layers (`known`: only the layers are fetched).
   */
  private async startSession(cmd: CreateNewTorrent, place: SaveFolder, magnet: Magnet, known?: Metainfo): Promise<CreationReply> {
    const { folder } = place
    if (this.disposed) return torrentStartFail('engine stopped')
    const port = await this.services.port()
    const id = randomBytes(12).toString('hex')
    this.asked(id, cmd)
    const session: MagnetSession = new MagnetSession({
      ...this.services.sessionBase(port, () => this.status(id)),
      transports: () => this.services.dialTransports(),
      mse: this.services.mse,
      dht: this.services.dhtOn,
      magnet,
      ...(known === undefined ? {} : { known }),
      peers: [...this.options.peers, ...(cmd.peers ?? []), ...magnet.peers],
      maxConns: this.options.maxConnsPerTorrent,
      admit: (meta) =>
        this.enqueue(async () => {
          if (this.torrents.get(id) !== session || this.disposed) return 'torrent closed'
          // Its peers come from the session (every address learnt, without those that lied).
          const torrent = await this.openTorrent(id, meta, place, [])
          // Layers a .torrent lacked are kept for the next start (a read-only folder keeps none).
          if (known !== undefined && typeof torrent !== 'string' && meta.v2 !== undefined && place.readOnly === undefined) {
            await saveLayers(folder, meta.infoHash, meta.v2.pieceLayers).catch(() => {})
          }
          if (typeof torrent === 'string') return torrent
          // Closed while its storage opened: release what was just taken.
          if (this.torrents.get(id) !== session || this.disposed) {
            this.claims.release(id)
            await torrent.close()
            return 'torrent closed'
          }
          return torrent
        })
    })
    // A hybrid's magnet (both xt): its v2 swarm may dial it by the v2 key, taken once the torrent runs.
    const v2Key = magnet.infoHashV2?.slice(0, 40)
    const aliases = v2Key === undefined || v2Key === magnet.infoHash ? [] : [v2Key]
    this.register(id, magnet.infoHash, session, handleOf(magnet.infoHash, () => session.inner), aliases)
    return newTorrentCreated(id, folder, { infohash: magnet.infoHash, name: magnet.name ?? magnet.infoHash })
  }

  /** Make `t` a running torrent, known by `infoHash` (and `aliases`) to the listener; it starts once its creation reply is out. */
  private register(id: TorrentId, infoHash: string, t: Torrent | MagnetSession, handle: TorrentHandle, aliases: readonly string[] = []): void {
    this.torrents.set(id, t)
    this.keys.set(id, [infoHash, ...aliases])
    for (const key of [infoHash, ...aliases]) {
      this.byInfoHash.set(key, id)
      this.byObfuscatedHash.set(obfuscatedHash(key), key)
    }
    this.options.onTorrent?.(id, handle)
    // Start after the reply is out, so the reply precedes the first status.
    queueMicrotask(() => {
      if (this.torrents.get(id) === t) t.start().catch(() => {})
    })
  }

  /** Run `task` on the creation chain (after every creation asked before it). */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const p = this.chain.then(task)
    this.chain = p.then(
      () => {},
      () => {}
    )
    return p
  }

  /** Where the torrent `infoHash` of `cmd` goes; or the reply when it runs already or its folder is not usable. */
  private async placeFor(infoHash: string, cmd: CreateNewTorrent): Promise<SaveFolder | CreationReply> {
    const running = this.byInfoHash.get(infoHash)
    if (running !== undefined) return torrentAlreadyDownloading(running)
    const place = await prepareSaveFolder(cmd.savefolder ?? this.options.downloadFolder)
    return typeof place === 'string' ? torrentStartFail(place) : place
  }

  /**
   * File claims and storage for `meta` in `folder`, then a Torrent (not
   * started). Returns the reason when a file belongs to another running
   * torrent or the storage cannot open. The claims are registered under `id`.
   */
  private async openTorrent(id: TorrentId, meta: Metainfo, { folder, readOnly }: SaveFolder, peers: readonly string[]): Promise<Torrent | string> {
    const files = filePaths(meta, folder)
    const conflict = this.claims.conflict(files)
    if (conflict !== null) return conflict
    // the command's priorities (and changes since), else the resume record's, else every file normal
    const asked = this.wishes.get(id)
    const spread = asked !== undefined ? this.spread(id, meta, asked) : ((await loadPriorities(folder, meta)) ?? spreadPriorities(meta.files, undefined))
    if (typeof spread === 'string') return `bad priorities: ${spread}`
    let storage
    try {
      storage =
        readOnly !== undefined
          ? await openFileStorage(folder, meta.files, { readonly: true })
          : await openSelectiveStorage(folder, meta.files, { infoHash: meta.infoHash, pieceLength: meta.pieceLength, wanted: spread.map((p) => p !== 'skip') })
    } catch (e) {
      return `cannot open storage in ${folder}: ${describe(e)}`
    }
    if (this.disposed) {
      await storage.close()
      return 'engine stopped'
    }
    const ctx = { ...this.services.torrentContext(await this.services.port(), () => this.status(id)), ...(readOnly !== undefined ? { readOnly } : {}) }
    const torrent = new Torrent(id, meta, folder, storage, ctx, peers, spread)
    this.claims.claim(id, files)
    return torrent
  }

  /** Records what a creation asks for (nothing when it names no priority). */
  private asked(id: TorrentId, cmd: CreateNewTorrent): void {
    if (cmd.priorities === undefined && cmd.otherFiles === undefined) return
    this.wishes.set(id, { list: cmd.priorities === undefined ? undefined : [...cmd.priorities], others: cmd.otherFiles ?? 'normal', changes: new Map() })
  }

  /**
   * What `asked` gives each of `meta`'s files. A change for a file the
   * torrent does not have (a magnet's, sent before its metadata) is refused
   * now and forgotten; a creation list longer than the files is a sentence.
   */
  private spread(id: TorrentId, meta: Metainfo, asked: Asked): FilePriority[] | string {
    const real = meta.files.filter((f) => !f.pad).length
    // the creation's own list first: too long, it fails the torrent (the changes restating it go with it)
    if (asked.list !== undefined && asked.list.length > real) return spreadPriorities(meta.files, asked.list, asked.others)
    for (const [file, priority] of asked.changes) {
      if (file < real) continue
      asked.changes.delete(file)
      this.refuse(id, file, priority, real)
    }
    const list = asked.list === undefined ? [] : [...asked.list]
    for (const [file, priority] of asked.changes) {
      while (list.length < file) list.push(asked.others)
      list[file] = priority
    }
    return spreadPriorities(meta.files, list, asked.others)
  }

  /** Tells the asker (through the service: the owners that asked) that the torrent has no file `file`. */
  private refuse(id: TorrentId, file: number, priority: FilePriority, real: number): void {
    if (this.disposed) return
    this.emit(torrentCommandRefused(setFilePriority(id, file, priority), `SetFilePriority refused: torrent ${id} has ${real} file${real === 1 ? '' : 's'} (numbered 0 to ${real - 1}); there is no file ${file}`))
  }

  /**
   * A SetFilePriority: applied to the running torrent, or kept for a magnet
   * until its metadata arrives. A file past the torrent's files is refused.
   * `'others'` sets the files that neither the creation's list nor a change names.
   */
  private async setFilePriority(id: TorrentId, file: number | 'others', priority: FilePriority): Promise<void> {
    const t = this.torrents.get(id)
    if (t === undefined || !isFilePriority(priority) || (file !== 'others' && (!Number.isSafeInteger(file) || file < 0))) return
    let asked = this.wishes.get(id)
    if (asked === undefined) this.wishes.set(id, (asked = { list: undefined, others: 'normal', changes: new Map() }))
    const torrent = t instanceof MagnetSession ? t.inner : t
    if (file === 'others') {
      asked.others = priority
      if (torrent === null) return
      const real = torrent.meta.files.filter((f) => !f.pad).length
      const named = asked.list?.length ?? 0
      for (let f = named; f < real; f++) if (!asked.changes.has(f)) await torrent.setFilePriority(f, priority)
      return
    }
    if (torrent === null) {
      asked.changes.set(file, priority)
      return
    }
    if (metaIndex(torrent.meta.files, file) === null) return this.refuse(id, file, priority, torrent.meta.files.filter((f) => !f.pad).length)
    asked.changes.set(file, priority)
    await torrent.setFilePriority(file, priority)
  }

  private closeTorrent(id: TorrentId): Promise<void> {
    const t = this.torrents.get(id)
    if (!t) return Promise.resolve()
    this.torrents.delete(id)
    this.wishes.delete(id)
    for (const key of this.keys.get(id) ?? []) {
      this.byInfoHash.delete(key)
      this.byObfuscatedHash.delete(obfuscatedHash(key))
    }
    this.keys.delete(id)
    this.claims.release(id)
    const p = t.close().then(
      () => {
        this.closing.delete(p)
        if (!this.disposed) this.emit(torrentStatusUpdate(id, t.stats()))
      },
      () => {
        this.closing.delete(p)
      }
    )
    this.closing.add(p)
    return p
  }

  private status(id: TorrentId): void {
    const t = this.torrents.get(id)
    if (t && !this.disposed) this.emit(torrentStatusUpdate(id, t.stats()))
  }

  private statusAll(): void {
    for (const id of this.torrents.keys()) this.status(id)
  }

  /**
   * The command stream ended. Torrents keep running (a `now(create)` command
   * stream ends at once, yet its download should go on); the engine stops
   * when its consumer disposes it.
   */
  commandsEnded(): void {}

  commandsFailed(e: Error): void {
    if (this.ending || this.disposed) return
    this.ending = true
    void Promise.all([...this.torrents.keys()].map((id) => this.closeTorrent(id)))
      .then(() => this.shutdown())
      .finally(() => {
        if (!this.disposed) this.error(e)
      })
  }

  private shutdownDone: Promise<void> | null = null
  private shutdown(): Promise<void> {
    if (this.shutdownDone) return this.shutdownDone
    clearInterval(this.timer)
    clearInterval(this.tickTimer)
    this.shutdownDone = (async () => {
      await Promise.allSettled([...this.closing])
      await this.services.close()
    })()
    void this.shutdownDone.then(() => this.options.onStopped?.())
    return this.shutdownDone
  }

  /** The consumer left: close everything; nothing is emitted any more. */
  dispose(): Promise<void> {
    this.disposed = true
    for (const id of [...this.torrents.keys()]) void this.closeTorrent(id)
    return this.shutdown()
  }
}

class TorrentClientStream implements Stream<EngineFeedback> {
  constructor(
    private readonly commands: Stream<EngineCommand>,
    private readonly options: ClientOptions
  ) {}

  run(sink: Sink<EngineFeedback>, scheduler: Scheduler): Disposable {
    const engine = new EngineInstance(
      resolveOptions(this.options),
      (fb) => sink.event(scheduler.currentTime(), fb),
      (e) => sink.error(scheduler.currentTime(), e)
    )
    const upstream = this.commands.run(
      {
        event: (_t, cmd) => engine.command(cmd),
        end: () => engine.commandsEnded(),
        error: (_t, e) => engine.commandsFailed(e)
      },
      scheduler
    )
    return {
      dispose() {
        upstream.dispose()
        void engine.dispose()
      }
    }
  }
}

/**
 * Make a BitTorrent engine.
 *
 * @example
 * ```ts
 * import { now, merge } from '@most/core'
 * import { newDefaultScheduler } from '@most/scheduler'
 * const engine = torrentClient({ downloadFolder: '/tmp/dl' })
 * const feedback = engine(now(createNewTorrent(torrentBytes)))
 * // or a magnet link: activity "fetching metadata" until peers gave the info dictionary
 * // engine(now(createNewTorrent('magnet:?xt=urn:btih:<40 hex>&x.pe=10.0.0.5:6881')))
 * feedback.run({ event: (_t, m) => console.log(m), end() {}, error: console.error }, newDefaultScheduler())
 * ```
 */
export const torrentClient =
  (options: ClientOptions = {}): Engine =>
  (commands) =>
    new TorrentClientStream(commands, options)

/** Re-exported for callers that want to type-check metainfo they hold. */
export type { Metainfo }
