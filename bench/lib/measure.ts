/**
 * Measuring child processes: wall time, CPU seconds (user + sys, the process
 * and its waited-for children) and peak RSS.
 *
 * A process that runs to completion is wrapped in GNU `/usr/bin/time`, which
 * gets all three from the kernel (wait4 rusage) with no sampling error. A
 * long-running process (a seeder) is read from /proc while it lives: CPU
 * deltas between two snapshots and VmHWM (peak resident set).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { workDir } from './paths.ts'
import { mkdirSync } from 'node:fs'

export interface Measurement {
  /** Seconds from spawn to exit, measured here. */
  readonly wallS: number
  /** User + system CPU seconds of the process and its children. */
  readonly cpuS: number
  readonly userS: number
  readonly sysS: number
  /** Peak resident set size in bytes (largest of the process tree). */
  readonly peakRssBytes: number
  readonly exitCode: number | null
  readonly signal: string | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  /** Kill the whole process group after this long (default 10 min). */
  readonly timeoutMs?: number
}

const parseTimeOutput = (text: string): { wall: number; user: number; sys: number; rssKiB: number } => {
  // The last line is ours (`-f`); earlier ones may say "Command exited with non-zero status".
  const line = text.trim().split('\n').pop() ?? ''
  const [wall, user, sys, rss] = line.trim().split(/\s+/).map(Number)
  return { wall: wall ?? NaN, user: user ?? NaN, sys: sys ?? NaN, rssKiB: rss ?? NaN }
}

/**
 * Run a command to completion under `/usr/bin/time` and measure it.
 * Never throws for a failing command: look at `exitCode`.
 *
 * @example
 * ```ts
 * const m = await runMeasured('aria2c', ['-d', out, 't.torrent'])
 * console.log(m.wallS, m.cpuS, m.peakRssBytes)
 * ```
 */
export const runMeasured = (cmd: string, args: readonly string[], options: RunOptions = {}): Promise<Measurement> => {
  mkdirSync(workDir, { recursive: true })
  const tmp = mkdtempSync(join(workDir, 'time-'))
  const timeFile = join(tmp, 'time.txt')
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, cmd, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so a timeout can kill the tree.
      detached: true
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      if (stderr.length > 1e6) stderr = stderr.slice(-5e5)
    })
    const timer = setTimeout(() => {
      stderr += `\n[bench] timed out after ${options.timeoutMs} ms, killed\n`
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    }, options.timeoutMs ?? 600_000)
    child.on('error', (err) => {
      clearTimeout(timer)
      rmSync(tmp, { recursive: true, force: true })
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const wallS = (performance.now() - started) / 1000
      let t = { wall: NaN, user: NaN, sys: NaN, rssKiB: NaN }
      try {
        t = parseTimeOutput(readFileSync(timeFile, 'utf8'))
      } catch {}
      rmSync(tmp, { recursive: true, force: true })
      // `time` reports the command's status as its own exit code.
      resolve({
        wallS,
        cpuS: t.user + t.sys,
        userS: t.user,
        sysS: t.sys,
        peakRssBytes: t.rssKiB * 1024,
        exitCode: code,
        signal,
        stdout,
        stderr
      })
    })
  })
}

/** CPU seconds and peak RSS of a live process, read from /proc. */
export interface ProcSnapshot {
  /** utime + stime + cutime + cstime, in seconds. */
  readonly cpuS: number
  /** VmHWM: the peak resident set so far, in bytes. */
  readonly peakRssBytes: number
  /** VmRSS now, in bytes. */
  readonly rssBytes: number
}

// Linux reports /proc times in USER_HZ ticks; 100 on every mainstream build.
const TICKS_PER_SECOND = 100

/**
 * Read a live process's CPU time and peak RSS. Throws if it is gone.
 * @example
 * ```ts
 * const before = procSnapshot(seeder.pid)
 * // ... let it work ...
 * const cpu = procSnapshot(seeder.pid).cpuS - before.cpuS
 * ```
 */
export const procSnapshot = (pid: number): ProcSnapshot => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state); utime..cstime are fields 14..17.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0)
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)
    return m ? Number(m[1]) * 1024 : NaN
  }
  return { cpuS: ticks / TICKS_PER_SECOND, peakRssBytes: kib('VmHWM'), rssBytes: kib('VmRSS') }
}

/** The last line of a child's stdout that parses as a JSON object, if any. */
export const lastJsonLine = (stdout: string): Record<string, unknown> | null => {
  const lines = stdout.trim().split('\n').reverse()
  for (const line of lines) {
    if (!line.startsWith('{')) continue
    try {
      return JSON.parse(line) as Record<string, unknown>
    } catch {}
  }
  return null
}
