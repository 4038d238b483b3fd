/**
 * Child processes for real-peer tests: output goes to a log file (never a pipe, so a chatty
 * child can't stall on a full buffer), each child leads its own process group so close()
 * also takes down anything it forked, and a process-wide registry kills whatever is still
 * alive when the test process exits or is interrupted.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'

/** How a child ended. */
export interface ExitInfo {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A spawned child with its log. */
export interface ChildHandle {
  readonly pid: number
  readonly logPath: string
  /** Resolves when the child has exited (never rejects). */
  readonly exited: Promise<ExitInfo>
  /** Set once the child exited. */
  exitInfo(): ExitInfo | undefined
  /** The log's contents so far ('' if unreadable). */
  readLog(): Promise<string>
  /** The last `lines` lines of the log, for error messages. */
  logTail(lines?: number): string
  /** Sends a signal to the child's process group (no-op once exited). */
  signal(sig: NodeJS.Signals): void
  /** SIGTERM the group, SIGKILL after `graceMs`, wait for exit. Safe to call twice. */
  close(graceMs?: number): Promise<void>
}

/** Options of {@link spawnLogged}. */
export interface SpawnLoggedOptions {
  /** stdout and stderr are appended to this file. */
  readonly logPath: string
  readonly cwd?: string
  readonly env?: NodeJS.ProcessEnv
  /** Default grace period of close() before SIGKILL (ms, default 2000). */
  readonly graceMs?: number
}

type SyncCleanup = () => void
const exitCleanups = new Set<SyncCleanup>()
let hooksInstalled = false

function runExitCleanups (): void {
  for (const fn of [...exitCleanups]) {
    exitCleanups.delete(fn)
    try { fn() } catch { /* best effort while exiting */ }
  }
}

function installHooks (): void {
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', runExitCleanups)
  // A listener replaces the default "exit on signal", so exit ourselves after cleaning up.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      runExitCleanups()
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1))
    })
  }
}

/**
 * Registers a synchronous action to run when the process exits (normally, or on
 * SIGINT/SIGTERM/SIGHUP). Returns a function that unregisters it.
 *
 * @example
 * const unregister = onProcessExit(() => rmSync(dir, { recursive: true, force: true }))
 */
export function onProcessExit (fn: SyncCleanup): () => void {
  installHooks()
  exitCleanups.add(fn)
  return () => { exitCleanups.delete(fn) }
}

function killGroup (pid: number, sig: NodeJS.Signals): void {
  try { process.kill(-pid, sig) } catch { /* group already gone */ }
}

function tailOf (text: string, lines: number): string {
  return text.split('\n').slice(-lines - 1).join('\n')
}

/**
 * Spawns `command args` in its own process group with output appended to `logPath`.
 *
 * @example
 * const child = spawnLogged('aria2c', ['--version'], { logPath: '/tmp/x/aria2.log' })
 * await child.exited
 */
export function spawnLogged (command: string, args: readonly string[], options: SpawnLoggedOptions): ChildHandle {
  const fd = openSync(options.logPath, 'a')
  let child: ChildProcess
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', fd, fd],
      detached: true
    })
  } finally {
    closeSync(fd)
  }
  let info: ExitInfo | undefined
  let spawnError: Error | undefined
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (err) => {
      spawnError = err
      info ??= { code: null, signal: null }
      resolve(info)
    })
    child.once('exit', (code, signal) => {
      info = { code, signal }
      resolve(info)
    })
  })
  const pid = child.pid ?? -1
  // A forgotten child must not keep the test process alive: the exit hook kills it.
  child.unref()
  const unregister = pid > 0 ? onProcessExit(() => killGroup(pid, 'SIGKILL')) : () => {}
  void exited.then(() => {
    // Grandchildren may outlive the leader; the group id stays valid while any member lives.
    if (pid > 0) killGroup(pid, 'SIGKILL')
    unregister()
  })

  let closing: Promise<void> | undefined
  const handle: ChildHandle = {
    pid,
    logPath: options.logPath,
    exited,
    exitInfo: () => info,
    readLog: async () => {
      const text = await readFile(options.logPath, 'utf8').catch(() => '')
      return spawnError ? `${text}\nspawn error: ${spawnError.message}` : text
    },
    logTail: (lines = 30) => {
      let text = ''
      try { text = readFileSync(options.logPath, 'utf8') } catch { /* no log */ }
      if (spawnError) text += `\nspawn error: ${spawnError.message}`
      return tailOf(text, lines)
    },
    signal: (sig) => { if (info === undefined && pid > 0) killGroup(pid, sig) },
    close: (graceMs = options.graceMs ?? 2000) => {
      closing ??= (async () => {
        if (info !== undefined || pid <= 0) return
        child.ref() // keep the event loop alive while we wait for the exit
        killGroup(pid, 'SIGTERM')
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
      })()
      return closing
    }
  }
  return handle
}
