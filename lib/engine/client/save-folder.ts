/**
 * A torrent's save folder, made ready before its storage opens: absolute,
 * created when missing, and either writable or known to be read-only (a
 * read-only file system, no permission), which still serves to seed complete
 * data.
 *
 * @internal
 * @module
 */
import { access, constants } from 'node:fs/promises'
import path from 'node:path'
import { makeFolder } from '../disk/make-folder.ts'

/** Where a torrent's data goes, and why it can only be read there (when it can). */
export interface SaveFolder {
  readonly folder: string
  readonly readOnly?: string
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Make `folder` (resolved against the working directory) ready; returns the
 * reason as a string when it cannot be used at all.
 *
 * @example
 * ```ts
 * const place = await prepareSaveFolder('downloads')
 * if (typeof place === 'string') return torrentStartFail(place)
 * ```
 */
export const prepareSaveFolder = async (folder: string): Promise<SaveFolder | string> => {
  const abs = path.resolve(folder)
  try {
    await makeFolder(abs)
  } catch (e) {
    return `save folder ${abs} is not usable: ${describe(e)}`
  }
  try {
    await access(abs, constants.W_OK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EROFS') return { folder: abs, readOnly: 'read-only file system, EROFS' }
    if (code === 'EACCES' || code === 'EPERM') return { folder: abs, readOnly: `no permission to write, ${code}` }
    return `save folder ${abs} is not usable: ${describe(e)}`
  }
  return { folder: abs }
}
