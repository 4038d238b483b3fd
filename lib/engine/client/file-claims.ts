/**
 * Which running torrent owns which file: two running torrents never write
 * the same file. The client claims every (non-pad) file of a torrent before
 * its storage opens, refuses a torrent that names a file already claimed, and
 * releases the claims when the torrent closes.
 *
 * @internal
 * @module
 */
import path from 'node:path'
import type { Metainfo } from '../contracts.ts'

/** Absolute paths of the files `meta` writes in `folder` (pad files write nothing). */
export const filePaths = (meta: Metainfo, folder: string): string[] => meta.files.filter((f) => !f.pad).map((f) => path.join(folder, ...f.path))

/**
 * The claims of one engine run.
 *
 * @example
 * ```ts
 * const claims = new FileClaims()
 * claims.conflict(files) ?? claims.claim(id, files)
 * claims.release(id)
 * ```
 */
export class FileClaims {
  /** Absolute path -> id of the torrent that owns it. */
  private readonly owner = new Map<string, string>()
  private readonly byTorrent = new Map<string, readonly string[]>()

  /** Why `files` cannot be claimed (the first one another torrent owns), or null. */
  conflict(files: readonly string[]): string | null {
    for (const f of files) {
      const owner = this.owner.get(f)
      if (owner !== undefined) return `file ${f} belongs to another running torrent (${owner}); use another save folder`
    }
    return null
  }

  /** Claim `files` for torrent `id` (after {@link conflict} found none). */
  claim(id: string, files: readonly string[]): void {
    for (const f of files) this.owner.set(f, id)
    this.byTorrent.set(id, files)
  }

  /** Release every claim of torrent `id`. */
  release(id: string): void {
    for (const f of this.byTorrent.get(id) ?? []) if (this.owner.get(f) === id) this.owner.delete(f)
    this.byTorrent.delete(id)
  }
}
