/**
 * The load scenario, shared by spec/engine/load.spec.ts and bench/load.ts:
 * one service over the real engine, N patrons and M small torrents seeded by
 * one engine instance on 127.0.0.1. Patron i asks for torrent i mod M, so the
 * first asker of each torrent gets NewTorrentCreated and the others
 * TorrentAlreadyDownloading (co-owners). Each patron waits until its torrent
 * reports "seeding" and every patron was answered (so that no late co-owner's
 * AlreadyDownloading races with the last owner's close); then even patrons close it and end their commands (their
 * output must end), odd ones dispose their output. Every message each patron
 * receives is checked against what it asked for, and every status update the
 * engine emits must reach each of its present owners exactly once.
 */
import { join } from 'node:path'
import { torrentClient } from '../../lib/engine/index.ts'
import { torrentService } from '../../lib/service/index.ts'
import { torrentPatron } from '../../lib/patron.ts'
import {
  closeTorrent,
  createNewTorrent,
  isCreateNewTorrent,
  isCreationReply,
  isNewTorrentCreated,
  isTorrentStatusUpdate,
  type Command,
  type Feedback,
  type TorrentId
} from '../../lib/messages.ts'
import { collect, PushSource, type Collected } from './most.ts'
import { makeTempDir } from './peers/tmp.ts'
import { sleep } from './peers/wait.ts'
import { spyEngine, startSwarm } from './loopback-swarm.ts'
import { resources, settleTo } from './resources.ts'

/** Options of {@link runLoad}. */
export interface LoadOptions {
  readonly patrons: number
  readonly torrents: number
  /** Torrent sizes are spread evenly over [minSize, maxSize] bytes. */
  readonly minSize: number
  readonly maxSize: number
  /** Give up after this long (ms) from the first creation; default 60 s. */
  readonly timeoutMs?: number
  /** Status interval of the leecher engine (ms); default 500. */
  readonly statusInterval?: number
  /** Called with progress lines (bench output). */
  readonly log?: (line: string) => void
}

/** What a load run measured and found. */
export interface LoadResult {
  /** Invariant violations (empty when the run is correct); capped at 50. */
  readonly violations: string[]
  /** Writing the data and having the seeder check it, ms. */
  readonly setupMs: number
  /** First creation sent -> every patron answered, ms. */
  readonly repliesMs: number
  /** First creation sent -> every patron saw its torrent seeding, ms. */
  readonly completeMs: number
  /** Last patron gone -> fds/sockets/handles back to the baseline, ms. */
  readonly releaseMs: number
  /** Peak resident set of the process (whole run, seeder included), MiB. */
  readonly peakRssMiB: number
  /** Peak V8 heap used, sampled every 50 ms, MiB. */
  readonly peakHeapMiB: number
  /** Heap used before the leecher started, MiB. */
  readonly baseHeapMiB: number
  readonly totalBytes: number
  readonly created: number
  readonly alreadyDownloading: number
  /** Status updates emitted by the engine / delivered to patrons. */
  readonly engineUpdates: number
  readonly deliveredUpdates: number
  /** Patrons that saw their torrent seeding before the timeout. */
  readonly completed: number
}

interface View {
  readonly index: number
  readonly torrent: number
  readonly cmds: PushSource<Command>
  readonly out: Collected<Feedback>
  id: TorrentId | undefined
  replies: number
  done: boolean
  left: boolean
}

const MiB = 1024 * 1024

/**
 * Run the scenario; resolves with figures and violations (never rejects on a
 * violation, so a bench can report it).
 *
 * @example
 * const r = await runLoad({ patrons: 1000, torrents: 200, minSize: 64 << 10, maxSize: 256 << 10 })
 */
export async function runLoad (o: LoadOptions): Promise<LoadResult> {
  const log = o.log ?? (() => {})
  const violations: string[] = []
  const fail = (msg: string): void => { if (violations.length < 50) violations.push(msg) }
  const tmp = await makeTempDir('load-')
  let heapPeak = 0
  const sampler = setInterval(() => { heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed) }, 50)
  try {
    const sizes = Array.from({ length: o.torrents }, (_, i) =>
      Math.round(o.minSize + (o.torrents === 1 ? 0 : ((o.maxSize - o.minSize) * i) / (o.torrents - 1))))
    const swarm = await startSwarm({ dir: join(tmp.path, 'seed'), sizes, pieceLength: 16 * 1024 })
    log(`seeder ready: ${o.torrents} torrents, ${(sizes.reduce((a, b) => a + b, 0) / MiB).toFixed(1)} MiB, ${swarm.setupMs} ms`)
    try {
      const base = resources()
      const baseHeap = process.memoryUsage().heapUsed
      heapPeak = baseHeap
      const views: View[] = []
      const ownersOf = new Map<TorrentId, Set<View>>()
      const hashOf = new Map<TorrentId, string>()
      let engineUpdates = 0; let deliveredUpdates = 0; let created = 0; let already = 0
      let expecting: Array<{ v: View; count: number }> = []
      let disposed = 0
      const service = torrentService(spyEngine(
        torrentClient({ host: '127.0.0.1', statusInterval: o.statusInterval ?? 500, peers: [swarm.peer], maxConns: 5000 }),
        {
          command: (c) => { if (isCreateNewTorrent(c) && c.savefolder === undefined) fail('a creation lost its save folder') },
          before: (fb) => {
            if (isNewTorrentCreated(fb)) hashOf.set(fb.torrentid, fb.infohash ?? '?')
            if (isTorrentStatusUpdate(fb)) {
              engineUpdates++
              expecting = [...(ownersOf.get(fb.torrentid) ?? [])].filter((v) => !v.left).map((v) => ({ v, count: v.out.events.length }))
            }
          },
          after: (fb) => {
            if (!isTorrentStatusUpdate(fb)) return
            for (const { v, count } of expecting) {
              if (v.left) continue
              const got = v.out.events.slice(count)
              if (got.length !== 1 || got[0] !== fb) fail(`patron ${v.index} owns ${fb.torrentid}: an update reached it ${got.length} times`)
            }
            expecting = []
          },
          disposed: () => { disposed++ }
        }
      ))
      const folder = join(tmp.path, 'dl')
      let answered = 0; let completed = 0
      const started = Date.now()
      let repliesAt = 0; let completeAt = 0

      const received = (v: View, f: Feedback): void => {
        if (v.left) fail(`patron ${v.index} got ${f.type} after it left`)
        if (isCreationReply(f)) {
          if (++v.replies > 1) return fail(`patron ${v.index} got ${v.replies} creation replies for 1 creation`)
          if (++answered === views.length) {
            repliesAt = Date.now()
            // From now on a patron may leave: no co-owner's reply can race with the last owner's close.
            for (const w of views) if (w.done) setImmediate(() => finish(w))
          }
          if (f.type === 'TorrentStartFail') return fail(`patron ${v.index}: TorrentStartFail: ${f.reason}`)
          if (hashOf.get(f.torrentid) !== swarm.torrents[v.torrent]!.infoHash) fail(`patron ${v.index} asked for torrent ${v.torrent}, got ${f.type}(${f.torrentid}) of another`)
          if (f.type === 'NewTorrentCreated') created++
          else already++
          v.id = f.torrentid
          let os = ownersOf.get(f.torrentid)
          if (os === undefined) ownersOf.set(f.torrentid, os = new Set())
          os.add(v)
        } else if (isTorrentStatusUpdate(f)) {
          deliveredUpdates++
          if (f.torrentid !== v.id) return fail(`patron ${v.index} (torrent ${v.id}) got an update of ${f.torrentid}`)
          if (!v.done && f.statsdictionary.activity === 'seeding') {
            v.done = true
            if (++completed === views.length) completeAt = Date.now()
            // Finish on a fresh turn (leaving from inside a delivery is legal, but the spy's
            // per-update check should be about the update alone), once every patron was answered.
            if (answered === views.length) setImmediate(() => finish(v))
          }
        } else fail(`patron ${v.index} got ${f.type}`)
      }
      const finish = (v: View): void => {
        if (v.left) return
        ownersOf.get(v.id!)?.delete(v)
        if (v.index % 2 === 0) {
          v.cmds.event(closeTorrent(v.id!))
          v.cmds.end()
          if (!v.out.ended) fail(`patron ${v.index} closed its only torrent and ended its commands, but its output did not end`)
          v.left = true
        } else {
          v.left = true
          v.out.dispose()
        }
      }

      for (let i = 0; i < o.patrons; i++) {
        const cmds = new PushSource<Command>()
        const v: View = { index: i, torrent: i % o.torrents, cmds, out: undefined as unknown as Collected<Feedback>, id: undefined, replies: 0, done: false, left: false }
        ;(v as { out: Collected<Feedback> }).out = collect(torrentPatron(service, cmds))
        const events = v.out.events
        const push = events.push.bind(events)
        events.push = (...fs: Feedback[]) => { for (const f of fs) received(v, f); return push(...fs) }
        views.push(v)
      }
      for (const v of views) v.cmds.event(createNewTorrent(swarm.torrents[v.torrent]!.bytes, { savefolder: folder }))
      log(`${o.patrons} patrons joined and asked`)

      const deadline = started + (o.timeoutMs ?? 60_000)
      let lastLog = Date.now()
      while (completed < views.length && Date.now() < deadline) {
        await sleep(20)
        if (Date.now() - lastLog > 5000) { lastLog = Date.now(); log(`  ${answered} answered, ${completed} complete after ${Date.now() - started} ms`) }
      }
      if (answered < views.length) fail(`${views.length - answered} patrons got no creation reply`)
      if (completed < views.length) fail(`${views.length - completed} patrons did not see their torrent complete within ${o.timeoutMs ?? 60_000} ms`)
      if (created !== o.torrents) fail(`${created} NewTorrentCreated for ${o.torrents} torrents`)
      for (const v of views) if (v.out.late > 0) fail(`patron ${v.index} got ${v.out.late} events after it left`)
      await sleep(50)
      for (const v of views) if (!v.left) { v.left = true; v.out.dispose() }
      const leftAt = Date.now()
      const s = service.inspect()
      if (s.patrons + s.pending + s.torrents + s.sinks !== 0 || s.state !== 'idle') fail(`service state after everyone left: ${JSON.stringify(s)}`)
      if (disposed !== 1) fail(`engine disposed ${disposed} times`)
      const leftOpen = await settleTo(base, 10_000)
      if (leftOpen.length > 0) fail(`left open: ${leftOpen.join('; ')}`)
      const releaseMs = Date.now() - leftAt
      return {
        violations,
        setupMs: swarm.setupMs,
        repliesMs: repliesAt === 0 ? NaN : repliesAt - started,
        completeMs: completeAt === 0 ? NaN : completeAt - started,
        releaseMs,
        peakRssMiB: process.resourceUsage().maxRSS / 1024,
        peakHeapMiB: heapPeak / MiB,
        baseHeapMiB: baseHeap / MiB,
        totalBytes: sizes.reduce((a, b) => a + b, 0),
        created,
        alreadyDownloading: already,
        engineUpdates,
        deliveredUpdates,
        completed
      }
    } finally {
      swarm.close()
    }
  } finally {
    clearInterval(sampler)
    await tmp.close()
  }
}
