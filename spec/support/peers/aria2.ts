/**
 * aria2c (Debian's aria2 1.36) as a seeder of existing data or as a leecher, on 127.0.0.1
 * with DHT, LPD and PEX off so it only meets peers through the trackers in the torrent
 * (or --bt-tracker). aria2c has no way to be handed a peer directly: it must learn peers
 * from a tracker, while other clients can be told its port (`handle.peer`).
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort, waitForTcp } from './ports.ts'
import { spawnLogged, type ChildHandle } from './process.ts'
import { makeTempDir, type TempDir } from './tmp.ts'

/** Options common to seeders and leechers. */
export interface Aria2Options {
  readonly torrentPath: string
  /**
   * aria2c's -d: the folder that holds (seeder) or receives (leecher) the torrent's content,
   * i.e. the PARENT of a multi-file torrent's top folder.
   */
  readonly dir: string
  /** BitTorrent listen port (default: a free one). */
  readonly port?: number
  /** Extra trackers besides the torrent's own (aria2c --bt-tracker). */
  readonly extraTrackers?: readonly string[]
  /** Seconds between tracker announces, overriding the tracker's interval (default 1; 0 = tracker's). */
  readonly trackerIntervalSec?: number
  /** Upload / download caps in bytes per second (default: none). */
  readonly maxUploadBytesPerSec?: number
  readonly maxDownloadBytesPerSec?: number
  /**
   * Level of the detailed log (default 'info': peers, pieces, tracker requests; about 50 KB
   * per MiB moved, so use 'warn' for benchmarks).
   */
  readonly logLevel?: 'debug' | 'info' | 'notice' | 'warn' | 'error'
  /** Further command-line options, appended last. */
  readonly extraArgs?: readonly string[]
}

/** A running aria2c. */
export interface Aria2Handle {
  /** Its BitTorrent port on 127.0.0.1. */
  readonly port: number
  /** "127.0.0.1:PORT", to give to another client as an explicit peer. */
  readonly peer: string
  /** aria2c's console output (warnings and errors). */
  readonly logPath: string
  /** aria2c's detailed log (--log, at `logLevel`). */
  readonly detailLogPath: string
  readonly process: ChildHandle
  /** Kills aria2c and removes its log folder. Safe to call twice. */
  close(): Promise<void>
}

/** An aria2c leecher (it exits by itself once complete: --seed-time=0). */
export interface Aria2Leecher extends Aria2Handle {
  /** Resolves when aria2c exited with code 0 (download complete and verified); rejects on another exit or after `timeoutMs`, with the log's tail. */
  waitDone(timeoutMs: number): Promise<void>
}

function commonArgs (options: Aria2Options, port: number, logPath: string): string[] {
  const args = [
    '--no-conf=true',
    `--dir=${options.dir}`,
    `--listen-port=${port}`,
    '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false',
    '--disable-ipv6=true',
    '--bt-external-ip=127.0.0.1',
    `--bt-tracker-interval=${options.trackerIntervalSec ?? 1}`,
    '--file-allocation=none',
    '--auto-file-renaming=false',
    '--allow-overwrite=true',
    '--bt-save-metadata=false',
    '--bt-max-peers=0', // no cap: tests may add many peers
    '--summary-interval=0', '--console-log-level=warn', '--enable-color=false', '--show-console-readout=false',
    `--log=${logPath}.aria2`, `--log-level=${options.logLevel ?? 'info'}`,
    // aria2c quits if the test process dies without cleaning up.
    `--stop-with-process=${process.pid}`
  ]
  if (options.extraTrackers !== undefined && options.extraTrackers.length > 0) args.push(`--bt-tracker=${options.extraTrackers.join(',')}`)
  if (options.maxUploadBytesPerSec !== undefined) args.push(`--max-upload-limit=${options.maxUploadBytesPerSec}`)
  if (options.maxDownloadBytesPerSec !== undefined) args.push(`--max-download-limit=${options.maxDownloadBytesPerSec}`)
  return args
}

async function launch (options: Aria2Options, roleArgs: readonly string[], name: string): Promise<{ child: ChildHandle, port: number, logDir: TempDir }> {
  const logDir = await makeTempDir(`${name}-`)
  let lastError: Error | undefined
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? await freePort()
    const logPath = join(logDir.path, `${name}-${attempt}.log`)
    const args = [...commonArgs(options, port, logPath), ...roleArgs, ...(options.extraArgs ?? []), options.torrentPath]
    const child = spawnLogged('aria2c', args, { logPath, graceMs: 2000 })
    try {
      await waitForTcp(port, 10_000, () => child.exitInfo() === undefined)
      return { child, port, logDir }
    } catch (err) {
      lastError = new Error(`aria2c (${name}) did not start listening on ${port}: ${(err as Error).message}\n${child.logTail()}`)
      await child.close()
      if (options.port !== undefined) break // the caller's port: retrying won't help
    }
  }
  await logDir.close()
  throw lastError ?? new Error('aria2c did not start')
}

function handleOf (child: ChildHandle, port: number, logDir: TempDir): Aria2Handle {
  let closing: Promise<void> | undefined
  return {
    port,
    peer: `127.0.0.1:${port}`,
    logPath: child.logPath,
    detailLogPath: `${child.logPath}.aria2`,
    process: child,
    close: () => {
      closing ??= (async () => {
        await child.close()
        await logDir.close()
      })()
      return closing
    }
  }
}

/**
 * Starts aria2c seeding data already in `dir` (not re-hashed: --bt-seed-unverified) and
 * waits until its port accepts connections. It announces to the torrent's trackers every
 * `trackerIntervalSec` seconds; use the tracker's waitForSeeders() to know it is listed.
 *
 * @example
 * const seeder = await startAria2Seeder({ torrentPath, dir: dirname(tree.root) })
 * t.after(() => seeder.close())
 * // engine: explicit peer seeder.peer ("127.0.0.1:PORT")
 */
export async function startAria2Seeder (options: Aria2Options): Promise<Aria2Handle> {
  const { child, port, logDir } = await launch(options, [
    '--bt-seed-unverified=true',
    '--seed-ratio=0.0', // 0.0 with no --seed-time: seed until killed
    '--check-integrity=false'
  ], 'aria2-seed')
  return handleOf(child, port, logDir)
}

/**
 * Starts aria2c downloading into `dir`; it exits (code 0) once every piece is downloaded
 * and verified.
 *
 * @example
 * const leecher = await startAria2Leecher({ torrentPath, dir: out.path })
 * t.after(() => leecher.close())
 * await leecher.waitDone(30_000)
 * assert.equal(await compareTrees(tree.root, join(out.path, name)), undefined)
 */
export async function startAria2Leecher (options: Aria2Options): Promise<Aria2Leecher> {
  const { child, port, logDir } = await launch(options, ['--seed-time=0', '--check-integrity=false'], 'aria2-leech')
  const handle = handleOf(child, port, logDir)
  return {
    ...handle,
    waitDone: async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs) })
      const result = await Promise.race([child.exited, timeout])
      clearTimeout(timer)
      const tail = async (): Promise<string> => {
        const log = await readFile(`${child.logPath}.aria2`, 'utf8').catch(() => '')
        return `${child.logTail(15)}\n--- aria2c log tail ---\n${log.split('\n').slice(-25).join('\n')}`
      }
      if (result === 'timeout') throw new Error(`aria2c leecher not done after ${timeoutMs} ms\n${await tail()}`)
      if (result.code !== 0) throw new Error(`aria2c leecher exited with ${result.code ?? result.signal}\n${await tail()}`)
    }
  }
}
