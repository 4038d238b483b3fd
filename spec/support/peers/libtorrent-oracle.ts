/**
 * python3-libtorrent (Debian's 2.0.8, for /usr/bin/python3 only) as the BEP 52
 * oracle: it makes torrents, reads them back and rechecks data. lt_peer.py
 * beside this file does the work (its `seed` command serves bench/download-v2.ts),
 * one JSON object per line on stdout. The peer for wire tests is libtorrent.ts.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { readFile } from 'node:fs/promises'

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
