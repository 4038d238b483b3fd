/** Makes .torrent files with Debian's `mktorrent` (an independent implementation to test against). */
import { execFile } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Options of {@link mktorrent}. */
export interface MktorrentOptions {
  /**
   * Announce URLs. Each entry is a tier; an entry that is an array is one tier holding
   * several URLs. mktorrent 1.1 requires at least one.
   */
  readonly announce: ReadonlyArray<string | readonly string[]>
  /** log2 of the piece length (default 18 = 256 KiB; mktorrent accepts 15..28). */
  readonly pieceLengthLog2?: number
  /** Sets the private flag (BEP 27). */
  readonly private?: boolean
  /** Torrent name (default: the basename of the target). */
  readonly name?: string
  readonly comment?: string
  /** Web seed URLs (BEP 19). */
  readonly webSeeds?: readonly string[]
}

/** A made torrent. */
export interface MadeTorrent {
  readonly path: string
  readonly bytes: Buffer
}

/**
 * Runs `mktorrent` on `target` (a file or a folder) and writes the torrent to `output`
 * (replacing it). Reproducible: no creation date is written.
 *
 * @example
 * const { bytes } = await mktorrent(tree.root, join(tmp.path, 't.torrent'),
 *   { announce: [tracker.httpAnnounce], pieceLengthLog2: 16 })
 */
export async function mktorrent (target: string, output: string, options: MktorrentOptions): Promise<MadeTorrent> {
  if (options.announce.length === 0) throw new Error('mktorrent: at least one announce URL is required')
  const args: string[] = ['-d', '-l', String(options.pieceLengthLog2 ?? 18), '-o', output]
  for (const tier of options.announce) args.push('-a', typeof tier === 'string' ? tier : tier.join(','))
  if (options.private === true) args.push('-p')
  if (options.name !== undefined) args.push('-n', options.name)
  if (options.comment !== undefined) args.push('-c', options.comment)
  if (options.webSeeds !== undefined && options.webSeeds.length > 0) args.push('-w', options.webSeeds.join(','))
  args.push(target)
  await rm(output, { force: true }) // mktorrent refuses to overwrite
  try {
    await run('mktorrent', args, { timeout: 60_000 })
  } catch (err) {
    const e = err as { stderr?: string, stdout?: string, message: string }
    throw new Error(`mktorrent failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`)
  }
  return { path: output, bytes: await readFile(output) }
}
