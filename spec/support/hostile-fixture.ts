/**
 * The shared stage of the hostile-peer specs: a 4 MiB torrent of three random files (64 KiB
 * pieces), an honest aria2c seeding it (capped at 3 MiB/s so each download lasts a moment and
 * an attacker is in the swarm meanwhile), and one in-process engine per download that must end
 * with byte-identical files.
 */
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import type { ClientOptions } from '../../lib/engine/index.ts'
import type { TorrentStats } from '../../lib/messages.ts'
import { parseMetainfo } from '../../lib/engine/metainfo/index.ts'
import { runEngine } from './engine.ts'
import type { HostileTarget } from './hostile-peer.ts'
import { makeTempDir, type TempDir } from './peers/tmp.ts'
import { makeRandomTree, compareTrees, type RandomTree } from './peers/data.ts'
import { mktorrent, type MadeTorrent } from './peers/mktorrent.ts'
import { startAria2Seeder, type Aria2Handle } from './peers/aria2.ts'

/** One engine downloading the fixture's torrent into a fresh folder. */
export interface HostileDownload {
  readonly engine: ReturnType<typeof runEngine>
  readonly id: string
  /** The torrent's last reported stats. */
  latest(): TorrentStats | undefined
  /** The engine's diagnostic handle of the torrent (banned peers, contributions). */
  handle(): NonNullable<ReturnType<ReturnType<typeof runEngine>['handles']['get']>>
  /** Waits for "seeding" (an error activity fails), then checks the files against the original. */
  finish(): Promise<TorrentStats>
}

/** What {@link hostileFixture} sets up. */
export interface HostileFixture {
  readonly tmp: TempDir
  readonly tree: RandomTree
  readonly made: MadeTorrent
  readonly target: HostileTarget
  readonly honest: Aria2Handle
  /** Starts an engine (`hasherWorkers: 1`, then `options`) downloading from exactly `peers`. */
  download(t: { after(fn: () => unknown): void }, peers: string[], options?: ClientOptions): Promise<HostileDownload>
  /** Stops aria2c and removes the temp folder. */
  close(): Promise<void>
}

/**
 * Builds the stage in a temp folder named after `prefix`.
 *
 * @example
 * let fx: HostileFixture
 * before(async () => { fx = await hostileFixture('hostile-') })
 * after(() => fx?.close())
 * test('...', async (t) => { const run = await fx.download(t, [evil.peer, fx.honest.peer]); await run.finish() })
 */
export async function hostileFixture (prefix: string): Promise<HostileFixture> {
  const tmp = await makeTempDir(prefix)
  try {
    const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 4 << 20, fileCount: 3 })
    const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
    const parsed = await parseMetainfo(made.bytes)
    assert.ok(parsed.ok)
    const target = { infoHash: parsed.value.infoHash, pieceCount: parsed.value.pieceCount, pieceLength: parsed.value.pieceLength }
    const honest = await startAria2Seeder({ torrentPath: made.path, dir: dirname(tree.root), maxUploadBytesPerSec: 3 << 20 })
    let runs = 0
    const download = async (t: { after(fn: () => unknown): void }, peers: string[], options: ClientOptions = {}): Promise<HostileDownload> => {
      // The hostile scripts speak plaintext only and wait silently on anything else: with the obfuscated
      // handshake first, the engine would reach them only after its handshake timeout, when the honest
      // seeder has long delivered everything. These specs are about lying peers, not about encryption.
      const engine = runEngine(t, { hasherWorkers: 1, outgoingEncryption: 'disabled', ...options })
      const folder = join(tmp.path, `out-${runs++}`)
      const id = await engine.create(made.bytes, folder, peers)
      return {
        engine,
        id,
        latest: () => engine.latest(id),
        handle: () => engine.handles.get(id)!,
        finish: async () => {
          const done = await engine.waitSeeding(id, 40000)
          assert.equal(done.piecesDone, done.piecesTotal)
          assert.equal(await compareTrees(tree.root, join(folder, 'payload')), undefined, 'data differs from the original')
          return done
        }
      }
    }
    return {
      tmp,
      tree,
      made,
      target,
      honest,
      download,
      close: async () => {
        await honest.close()
        await tmp.close()
      }
    }
  } catch (e) {
    await tmp.close()
    throw e
  }
}
