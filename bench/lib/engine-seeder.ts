/**
 * This project's engine as a long-running seeder child process
 * (bench/seed-engine.ts), for the benchmarks that need several of them.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { killOnExit } from './children.ts'
import { engineChild } from './compiled.ts'
import { procSnapshot, type ProcSnapshot } from './measure.ts'

/** A running engine seeder. */
export interface EngineSeeder {
  readonly pid: number
  readonly port: number
  /** Seconds from spawn to "seeding" (includes checking the data). */
  readonly readyS: number
  snapshot(): ProcSnapshot
  stop(): Promise<void>
}

/**
 * Start bench/seed-engine.ts (compiled, as every engine child: compiled.ts)
 * on the data in `dir` and wait until it seeds; `extraArgs` go to the child
 * (e.g. `['--transport', 'utp']`).
 * @example
 * ```ts
 * const s = await startEngineSeeder(torrent, dir, await freePort(), 60_000)
 * await s.stop()
 * ```
 */
export const startEngineSeeder = async (
  torrent: string,
  dir: string,
  port: number,
  timeoutMs: number,
  root?: string,
  extraArgs: readonly string[] = []
): Promise<EngineSeeder> => {
  const t0 = performance.now()
  const child: ChildProcess = killOnExit(
    spawn(process.execPath, [...engineChild('seed-engine', undefined, root), '--torrent', torrent, '--data', dir, '--port', String(port), ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
  )
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let timer: NodeJS.Timeout | undefined
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('"event":"seeding"')) resolve()
    })
    void exited.then(() => reject(new Error(`engine seeder exited: ${stderr.trim().split('\n').slice(-3).join(' / ')}`)))
    timer = setTimeout(() => reject(new Error('engine seeder not seeding in time')), timeoutMs)
  })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(kill)
  }
  try {
    await ready
  } catch (e) {
    await stop()
    throw e
  } finally {
    clearTimeout(timer)
  }
  return { pid: child.pid!, port, readyS: (performance.now() - t0) / 1000, snapshot: () => procSnapshot(child.pid!), stop }
}
