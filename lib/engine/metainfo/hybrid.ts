/**
 * Consistency of hybrid (v1 + v2, BEP 52) torrents. A hybrid whose halves
 * disagree is two different torrents under one name: v1 peers and v2 peers
 * could never agree on its data. Refuse it with the first difference, as
 * libtorrent does, instead of joining a swarm that cannot finish.
 *
 * Checked: the v1 file list names the same real files as the `file tree`, in
 * the same order and with the same sizes; each v1 file sits at the offset the
 * v2 layout gives it (so its pad files align it as v2 requires); and the v1
 * piece count covers the same pieces (a missing pad after the last file is
 * allowed, as libtorrent allows it).
 *
 * @module
 */
import type { FileEntry, V2File } from '../contracts.ts'

/**
 * Null when the v1 file list agrees with the v2 layout, else a reason.
 *
 * @example
 * const problem = checkHybrid(v1Files, layout.files, 65536)
 * if (problem !== null) refuse(problem)
 */
export function checkHybrid (v1: readonly FileEntry[], v2: readonly V2File[], pieceLength: number, v1PieceCount: number): string | null {
  const real = v1.filter(f => !f.pad)
  // Symlinks are pad entries in the v1 list; in the tree they are files of no data.
  const v2Real = v2.filter(f => f.length > 0 || f.root !== null)
  const v1Real = real.filter(f => f.length > 0)
  if (v1Real.length !== v2Real.length) return `v1 and v2 file lists differ (${v1Real.length} files with data in v1, ${v2Real.length} in v2)`
  for (let i = 0; i < v1Real.length; i++) {
    const a = v1Real[i] as FileEntry
    const b = v2Real[i] as V2File
    const shown = b.path.join('/')
    if (a.path.join('/') !== shown) return `v1 and v2 file lists differ at "${clip(shown)}" (v1 has "${clip(a.path.join('/'))}")`
    if (a.length !== b.length) return `v1 and v2 disagree on the size of "${clip(shown)}" (${a.length} and ${b.length} bytes)`
    if (a.offset !== b.offset) return `hybrid file "${clip(shown)}" is at byte ${a.offset} in v1 but ${b.offset} in v2 (not aligned to a piece)`
  }
  const last = v2Real[v2Real.length - 1]
  const v2Pieces = last === undefined ? 0 : last.firstPiece + last.pieceCount
  if (v1PieceCount !== v2Pieces) return `v1 has ${v1PieceCount} pieces but the v2 files cover ${v2Pieces}`
  return null
}

function clip (s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s
}
