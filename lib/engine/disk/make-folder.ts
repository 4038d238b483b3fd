/**
 * Creating folders with the real reason when it fails. Node's recursive
 * `mkdir` reports ENOENT when a missing folder cannot be created on a
 * read-only file system (or under a folder we may not write): the user then
 * reads "no such file or directory" for a folder they asked to have created.
 * {@link makeFolder} asks the file system again, one level at a time, for the
 * error that stopped it (EROFS, EACCES, ...).
 *
 * @module
 */
import { mkdir, stat } from 'node:fs/promises'
import path from 'node:path'

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | null)?.code

/**
 * Create `dir` and its missing parents (nothing happens when it exists).
 * Rejects with the error of the first folder that cannot be created, with
 * its `code` (EROFS for a read-only file system), rather than ENOENT.
 *
 * @example
 * ```ts
 * await makeFolder('/mnt/cdrom/new') // rejects: EROFS: read-only file system, mkdir '/mnt/cdrom/new'
 * ```
 */
export async function makeFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') throw e
    // Created meanwhile by someone else: that is success too.
    const why = await firstFailure(path.resolve(dir))
    if (why !== undefined) throw why
  }
}

/** Create the missing folders from the top down; the error of the first that fails, or undefined if all went. */
async function firstFailure(dir: string): Promise<unknown> {
  const missing: string[] = []
  for (let d = dir; ; d = path.dirname(d)) {
    const exists = await stat(d).then(() => true, () => false)
    if (exists) break
    missing.unshift(d)
    if (path.dirname(d) === d) break
  }
  for (const d of missing) {
    try {
      await mkdir(d)
    } catch (e) {
      if (codeOf(e) !== 'EEXIST') return e
    }
  }
  return undefined
}
