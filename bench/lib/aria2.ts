/**
 * aria2c as a benchmark peer: seeder of existing data, leecher, and checker.
 * Everything that would reach beyond loopback (DHT, LPD, PEX) is off.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { killOnExit } from './children.ts'
import { procSnapshot, type ProcSnapshot } from './measure.ts'
import { waitForPort } from './net.ts'

const QUIET = ['--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false']
const TERSE = ['--console-log-level=warn', '--summary-interval=0', '--download-result=hide', '--auto-save-interval=0']

/** aria2c's version line, e.g. "aria2 version 1.36.0". */
export const aria2Version = async (): Promise<string> => {
  const { execFileSync } = await import('node:child_process')
  return execFileSync('aria2c', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim()
}

/**
 * Arguments for aria2c downloading `torrent` into `out` and exiting when done
 * (no seeding). It finds its seeder through the torrent's tracker.
 */
export const aria2LeechArgs = (torrent: string, out: string, listenPort: number): string[] => [
  '-d',
  out,
  '--seed-time=0',
  `--listen-port=${listenPort}`,
  '--file-allocation=none',
  '--allow-overwrite=true',
  '--bt-save-metadata=false',
  ...QUIET,
  ...TERSE,
  torrent
]

/** Arguments for aria2c hash-checking existing data and exiting. */
export const aria2CheckArgs = (torrent: string, dir: string): string[] => [
  '-d',
  dir,
  '--check-integrity=true',
  '--hash-check-only=true',
  '--file-allocation=none',
  ...QUIET,
  ...TERSE,
  torrent
]

export interface Aria2Seeder {
  readonly port: number
  readonly pid: number
  snapshot(): ProcSnapshot
  stop(): Promise<void>
}

/**
 * Start aria2c seeding the data in `dir` (trusted without checking) on
 * 127.0.0.1:`port`, announcing to the torrent's tracker. Resolves once it
 * accepts connections. Start the tracker first: aria2c does not soon retry a
 * failed first announce.
 * @example
 * ```ts
 * const seeder = await startAria2Seeder(torrent, ds.dir, await freePort())
 * await seeder.stop()
 * ```
 */
export const startAria2Seeder = async (torrent: string, dir: string, port: number): Promise<Aria2Seeder> => {
  const child: ChildProcess = killOnExit(spawn(
    'aria2c',
    [
      '-d',
      dir,
      '--bt-seed-unverified=true',
      // Ratio 0 with no seed time: seed until stopped.
      '--seed-ratio=0.0',
      `--listen-port=${port}`,
      '--file-allocation=none',
      '--bt-max-peers=0',
      ...QUIET,
      ...TERSE,
      torrent
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] }
  ))
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const early = exited.then(() => {
    throw new Error(`aria2c seeder exited early: ${stderr.trim()}`)
  })
  await Promise.race([waitForPort(port), early])
  early.catch(() => {})
  return {
    port,
    pid: child.pid!,
    snapshot: () => procSnapshot(child.pid!),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }
  }
}
