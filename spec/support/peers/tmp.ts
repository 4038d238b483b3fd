/**
 * Temporary folders for tests, removed on close() and again when the process
 * exits: an engine still shutting down after its test may write its resume
 * record into a folder already removed, which makes it again.
 */
import { mkdtempSync, rmSync, chmodSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onProcessExit } from './process.ts'

/** A temporary folder. */
export interface TempDir {
  readonly path: string
  /** Removes the folder and everything in it. Safe to call twice. */
  close(): Promise<void>
}

/** Options of {@link makeTempDir}. */
export interface TempDirOptions {
  /**
   * Mode 0755 instead of mkdtemp's 0700. Needed for folders read by a program that drops
   * root, such as opentracker reading its whitelist as `nobody`.
   */
  readonly worldReadable?: boolean
}

/**
 * Creates a fresh folder under the OS temp dir.
 *
 * @example
 * const tmp = await makeTempDir('seed-')
 * try { ... } finally { await tmp.close() }
 */
export async function makeTempDir (prefix = 'tp-', options: TempDirOptions = {}): Promise<TempDir> {
  const path = mkdtempSync(join(tmpdir(), prefix))
  if (options.worldReadable === true) chmodSync(path, 0o755)
  onProcessExit(() => rmSync(path, { recursive: true, force: true }))
  let closing: Promise<void> | undefined
  return {
    path,
    close: () => {
      closing ??= rm(path, { recursive: true, force: true, maxRetries: 3 })
      return closing
    }
  }
}
