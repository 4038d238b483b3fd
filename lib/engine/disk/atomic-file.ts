/**
 * Small state files written atomically: a temp file beside the target
 * (`<file>.<pid>.<random hex>.tmp`), fsync, rename, fsync of the folder. A
 * crash leaves the old file or the new one, never a torn one; a failure at
 * any step (a full disk, an I/O error, a folder that vanished) removes the
 * temp file before the error is passed on. A process killed mid-write cannot
 * clean up after itself, so {@link removeStaleTemps} removes temp files whose
 * writer process is gone.
 *
 * @module
 */
import { open, readdir, rename, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import path from 'node:path'

/**
 * Write `data` to `file` atomically; on failure no temp file is left and the
 * original error is thrown.
 *
 * @example
 * ```ts
 * await writeFileAtomic('/state/x.json', JSON.stringify(state))
 * ```
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const fh = await open(tmp, 'wx', mode)
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, file)
  } catch (err) {
    // The original error is what matters; a temp file that cannot be removed either is swept later.
    await rm(tmp, { force: true }).catch(() => {})
    throw err
  }
  // Make the rename itself durable; not every platform lets a folder be fsync'd.
  try {
    const d = await open(path.dirname(file), 'r')
    try {
      await d.sync()
    } finally {
      await d.close()
    }
  } catch {
    /* best effort */
  }
}

const TEMP = /^\.(\d+)\.[0-9a-f]+\.tmp$/

/** False only when no process `pid` exists (a process of another user counts as alive). */
const alive = (pid: number): boolean => {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

/**
 * Remove the temp files {@link writeFileAtomic} left for `file` when its
 * writer was killed mid-write: those of processes that no longer run. Temp
 * files of running processes (this one included) are in use and stay. Never
 * throws: resolves to the number of files removed.
 *
 * @example
 * ```ts
 * await removeStaleTemps('/state/x.json')
 * ```
 */
export async function removeStaleTemps(file: string): Promise<number> {
  const dir = path.dirname(file)
  const base = path.basename(file)
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return 0
  }
  let removed = 0
  for (const name of names) {
    if (!name.startsWith(base)) continue
    const m = TEMP.exec(name.slice(base.length))
    if (m === null || alive(Number(m[1]))) continue
    try {
      await rm(path.join(dir, name), { force: true })
      removed++
    } catch {
      /* another sweeper, or a read-only folder: nothing to do */
    }
  }
  return removed
}
