/**
 * Running the CLI as a user would: `node bin/torrent-patron.js ...` in a
 * child process, with its output captured and every child killed at the end.
 * The bin runs the compiled dist/, rebuilt first when a source is newer
 * (support/build.ts), so that a spec never tests a stale build.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureBuilt } from '../support/build.ts'
import { startAria2Seeder } from '../support/peers/aria2.ts'
import { makeRandomTree } from '../support/peers/data.ts'
import { mktorrent } from '../support/peers/mktorrent.ts'
import { startTracker } from '../support/peers/tracker-server.ts'
import { makeTempDir } from '../support/peers/tmp.ts'

ensureBuilt()

export const bin = fileURLToPath(new URL('../../bin/torrent-patron.js', import.meta.url))

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A running CLI process. */
export interface CliProcess {
  readonly child: ChildProcess
  stdout(): string
  stderr(): string
  /** Complete stdout lines so far. */
  lines(): string[]
  /** Resolves with the first stdout line for which `pred` holds; rejects on exit or after `timeoutMs`. */
  waitForLine(pred: (line: string) => boolean, timeoutMs: number): Promise<string>
  readonly exited: Promise<CliResult>
  /** SIGKILL if still running, then wait for the exit. Safe to call twice. */
  kill(): Promise<void>
}

export const startCli = (args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess => startNode([bin, ...args], opts)

/** Any node program run as the CLI is (`node ...args`), with the same captured output and helpers. */
export const startNode = (args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess => {
  const child = spawn(process.execPath, [...args], {
    cwd: opts.cwd,
    // The CLI's DHT and port mapping are on by default: tests never reach the public routers nor the host's
    // real home router, even when run outside `npm test`.
    env: { TORRENT_PATRON_DHT: 'off', TORRENT_PATRON_PORT_MAPPING: 'off', ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d
    for (const w of [...waiters]) w()
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d
  })
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout: out, stderr: err })
      for (const w of [...waiters]) w()
    })
  })
  let done = false
  void exited.then(() => {
    done = true
  })
  const lines = () => out.split('\n').slice(0, -1)
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    lines,
    exited,
    waitForLine: (pred, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines().find(pred)
          if (hit !== undefined) finish(() => resolve(hit))
          else if (done) finish(() => reject(new Error(`exited before the line came; stdout:\n${out}\nstderr:\n${err}`)))
        }
        const timer = setTimeout(() => finish(() => reject(new Error(`no such line after ${timeoutMs} ms; stdout:\n${out.slice(-3000)}\nstderr:\n${err}`))), timeoutMs)
        const finish = (f: () => void) => {
          clearTimeout(timer)
          waiters.delete(check)
          f()
        }
        waiters.add(check)
        check()
      }),
    kill: async () => {
      if (!done) child.kill('SIGKILL')
      await exited
    }
  }
}

/** Run the CLI to its end (killed after `timeoutMs`). */
export const runCli = async (
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}
): Promise<CliResult> => {
  const p = startCli(args, opts)
  const timer = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
  try {
    return await p.exited
  } finally {
    clearTimeout(timer)
  }
}

/** The CLI's error contract: exactly one line on stderr, `torrent-patron: <reason>`, no stack trace. */
export const oneLineError = (r: CliResult): string => {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0)
  if (lines.length !== 1 || !lines[0]!.startsWith('torrent-patron: ') || /\n\s+at /.test(r.stderr)) {
    throw new Error(`expected one error line, got stderr:\n${r.stderr}`)
  }
  return lines[0]!
}

/** Parse JSON lines; throws on a line that is not JSON. */
export const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>)

/**
 * A `torrent-patron seed` process sharing 2 MiB of random files under a new
 * temporary folder (removed, and the process killed, when the test ends);
 * resolves once it seeds, with the tree, the process and its address.
 */
export const startSeedProcess = async (t: { after(fn: () => unknown): void }, prefix: string) => {
  const tmp = await makeTempDir(prefix)
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(tmp.path, 'share', 'docs'), { totalBytes: 2 << 20, fileCount: 3 })
  const seeder = startCli(['seed', tree.root, '--announce', 'http://127.0.0.1:9/announce'])
  t.after(() => seeder.kill())
  const listening = await seeder.waitForLine((l) => l.startsWith('listening on port '), 30_000)
  const peer = /connect to (127\.0\.0\.1:\d+)/.exec(listening)![1]!
  await seeder.waitForLine((l) => l.includes('seeding'), 30_000)
  return { tmp, tree, seeder, peer }
}

/** A multi-file data set seeded by aria2c (found through an embedded tracker), with its .torrent. */
export const swarm = async (
  t: { after: (f: () => Promise<void>) => void },
  opts: { totalBytes: number; maxUploadBytesPerSec?: number }
) => {
  const tmp = await makeTempDir('cli-get-')
  t.after(() => tmp.close())
  const tracker = await startTracker({ intervalMs: 1000 })
  t.after(() => tracker.close())
  const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: opts.totalBytes, fileCount: 4 })
  const torrent = await mktorrent(tree.root, join(tmp.path, 'payload.torrent'), { announce: [tracker.httpAnnounce], pieceLengthLog2: 16 })
  const seeder = await startAria2Seeder({
    torrentPath: torrent.path,
    dir: join(tmp.path, 'seed'),
    ...(opts.maxUploadBytesPerSec === undefined ? {} : { maxUploadBytesPerSec: opts.maxUploadBytesPerSec })
  })
  t.after(() => seeder.close())
  return { tmp, tree, torrent, seeder, tracker }
}
