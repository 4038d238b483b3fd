/**
 * python3-libtorrent (Debian's 2.0.8, for /usr/bin/python3 only) as the BEP 52
 * oracle and as a real v2 peer: lt_peer.py beside this file does the work, one
 * JSON object per line on stdout.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { readFile } from 'node:fs/promises'
import { spawnLogged, type ChildHandle } from './process.ts'
import { pollUntil } from './wait.ts'

const run = promisify(execFile)
const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./lt_peer.py', import.meta.url))

/** One file as libtorrent sees it (pad files included). */
export interface LtFile {
  readonly path: string
  readonly size: number
  readonly offset: number
  readonly pad: boolean
  /** Hex pieces root, null for pad and empty files. */
  readonly root: string | null
}

/** What libtorrent makes of a .torrent. */
export interface LtTorrent {
  readonly v1: string | null
  readonly v2: string | null
  readonly total: number
  readonly pieces: number
  readonly pieceLength: number
  readonly files: readonly LtFile[]
}

async function call (args: readonly string[]): Promise<unknown> {
  const { stdout } = await run(PYTHON, [SCRIPT, ...args], { maxBuffer: 64 * 1024 * 1024 }).catch((err: { stdout?: string }) => {
    const line = String(err.stdout ?? '').trim().split('\n').pop() ?? ''
    throw new Error(`libtorrent ${args[0] ?? ''} failed: ${line}`)
  })
  return JSON.parse(stdout.trim().split('\n').pop() as string)
}

/** libtorrent makes a .torrent of `src` (a file or folder) at `out`; returns its bytes. */
export async function ltMake (src: string, out: string, mode: 'v1' | 'v2' | 'hybrid', pieceLength: number): Promise<Uint8Array> {
  await call(['make', src, out, mode, String(pieceLength)])
  return new Uint8Array(await readFile(out))
}

/** libtorrent loads the .torrent at `path` and reports its hashes and files. */
export async function ltInspect (path: string): Promise<LtTorrent> {
  return await call(['inspect', path]) as LtTorrent
}

/** A running libtorrent session. */
export interface LtPeer {
  readonly child: ChildHandle
  /** Lines printed so far, parsed. */
  lines(): Promise<Array<Record<string, unknown>>>
  close(): Promise<void>
}

function peer (args: readonly string[], logDir: string, name: string): LtPeer {
  const child = spawnLogged(PYTHON, [SCRIPT, ...args], { logPath: join(logDir, `${name}.log`) })
  const lines = async (): Promise<Array<Record<string, unknown>>> => (await child.readLog()).split('\n')
    .filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
  return { child, lines, close: async () => { await child.close() } }
}

/** libtorrent seeds the data under `save` on 127.0.0.1:`port` (at most `rate` bytes/s when given, loopback included); resolves once it has checked it all. */
export async function ltSeed (torrentPath: string, save: string, port: number, logDir: string, rate = 0): Promise<LtPeer> {
  const p = peer(['seed', torrentPath, save, String(port), String(rate)], logDir, `lt-seed-${port}`)
  await pollUntil(async () => {
    const ls = await p.lines()
    const err = ls.find(l => 'error' in l)
    if (err !== undefined || p.child.exitInfo() !== undefined) throw new Error(`libtorrent seeder failed: ${String(err?.['error'] ?? p.child.logTail())}`)
    return ls.some(l => l['seeding'] === true)
  }, { timeoutMs: 120_000, intervalMs: 100, what: 'libtorrent seeder to check its data' })
  return p
}

/** libtorrent downloads `src` (.torrent path or magnet) into `save` from `peerAddr`; resolves when done. */
export async function ltGet (src: string, save: string, port: number, peerAddr: string, logDir: string, timeoutMs = 240_000): Promise<LtPeer> {
  const p = peer(['get', src, save, String(port), peerAddr], logDir, `lt-get-${port}`)
  await pollUntil(async () => {
    const ls = await p.lines()
    const err = ls.find(l => 'error' in l)
    if (err !== undefined || p.child.exitInfo() !== undefined) throw new Error(`libtorrent leecher failed: ${String(err?.['error'] ?? p.child.logTail())}`)
    return ls.some(l => l['done'] === true)
  }, { timeoutMs, intervalMs: 200, what: 'libtorrent to finish downloading' })
  return p
}

/** Seconds libtorrent's force_recheck takes over the data under `save`. */
export async function ltRecheck (torrentPath: string, save: string): Promise<{ seconds: number; progress: number }> {
  return await call(['recheck', torrentPath, save]) as { seconds: number; progress: number }
}
