/**
 * `get --only LIST` / `--skip LIST`: which files of a torrent to download,
 * as the file priorities of its CreateNewTorrent. LIST is comma-separated
 * file indices (from 0, pad files not counted, the order `info` lists them
 * in) or, for a .torrent file, names: a file's path as `info` prints it,
 * that path without the torrent's name, or its base name, where `*` and `?`
 * match as in a shell. Each item selects every file it matches.
 *
 * A magnet's files are known only once its metadata arrives, so with a
 * magnet only indices are taken, and the engine applies them then (an index
 * past the files fails the torrent, as aria2c's `--select-file` does).
 *
 * @module
 */
import type { FilePriority } from '../lib/messages.ts'
import { usageError } from './errors.ts'

/** What `--only` or `--skip` asked for, before the torrent's files are known. */
export interface Selection {
  readonly mode: 'only' | 'skip'
  readonly items: readonly string[]
}

/** The priorities of a CreateNewTorrent: by file index, and for the files past the list. */
export interface SelectionPriorities {
  readonly priorities: FilePriority[]
  readonly otherFiles?: FilePriority
}

const INDEX = /^(0|[1-9][0-9]*)$/

/** A magnet's list of priorities is as long as its highest index: bounded, so a typo cannot ask for a huge list. */
const MAX_MAGNET_INDEX = 100_000

/** Parses the values of `--only` and `--skip` (usage errors for both, an empty list or an empty item); undefined without either. */
export const parseSelection = (command: string, only: string | undefined, skip: string | undefined): Selection | undefined => {
  if (only !== undefined && skip !== undefined) throw usageError('--only and --skip cannot be used together', command)
  const text = only ?? skip
  if (text === undefined) return undefined
  const mode = only !== undefined ? 'only' : 'skip'
  const items = text.split(',').map((s) => s.trim())
  if (items.some((s) => s === '')) throw usageError(`--${mode} wants a comma-separated list of file indices or names, not "${text}"`, command)
  return { mode, items }
}

const globRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)

/** The names a file answers to: its path with and without the torrent's name, and its base name. */
const namesOf = (path: readonly string[]): string[] => [path.join('/'), path.slice(1).join('/'), path.at(-1)!].filter((n) => n !== '')

/**
 * The indices `item` selects among `files` (each a path, the torrent's name
 * first, pad files left out); a usage error when it selects none.
 */
const matches = (command: string, mode: string, item: string, files: readonly (readonly string[])[]): number[] => {
  if (INDEX.test(item)) {
    const i = Number(item)
    if (i >= files.length) throw usageError(`--${mode} ${item}: no such file, the torrent has ${files.length} file${files.length === 1 ? '' : 's'} (numbered 0 to ${files.length - 1})`, command)
    return [i]
  }
  const re = globRegExp(item)
  const found = files.flatMap((p, i) => (namesOf(p).some((n) => re.test(n)) ? [i] : []))
  if (found.length === 0) throw usageError(`--${mode} ${item}: no file of the torrent has that name or index (see: torrent-patron info)`, command)
  return found
}

/**
 * The priorities for a torrent whose files are `files` (paths, pad files
 * left out), or for a magnet (`files` undefined: only indices, the rest
 * decided by `otherFiles`).
 *
 * @example
 * ```ts
 * selectionPriorities('get', { mode: 'only', items: ['1'] }, [['a', 'x'], ['a', 'y']]) // { priorities: ['skip', 'normal'] }
 * selectionPriorities('get', { mode: 'only', items: ['1'] }, undefined) // { priorities: ['skip', 'normal'], otherFiles: 'skip' }
 * ```
 */
export const selectionPriorities = (command: string, sel: Selection, files: readonly (readonly string[])[] | undefined): SelectionPriorities => {
  const [chosen, rest]: FilePriority[] = sel.mode === 'only' ? ['normal', 'skip'] : ['skip', 'normal']
  if (files === undefined) {
    const bad = sel.items.find((s) => !INDEX.test(s))
    if (bad !== undefined) {
      throw usageError(`--${sel.mode} ${bad}: a magnet's file names are known only once its metadata arrives; give file indices (from 0)`, command)
    }
    const picked = new Set(sel.items.map(Number))
    const big = [...picked].find((i) => i >= MAX_MAGNET_INDEX)
    if (big !== undefined) throw usageError(`--${sel.mode} ${big}: file indices of a magnet go up to ${MAX_MAGNET_INDEX - 1}`, command)
    const priorities = Array.from({ length: Math.max(...picked) + 1 }, (_, i) => (picked.has(i) ? chosen! : rest!))
    return sel.mode === 'only' ? { priorities, otherFiles: 'skip' } : { priorities }
  }
  const picked = new Set(sel.items.flatMap((s) => matches(command, sel.mode, s, files)))
  const priorities = files.map((_, i) => (picked.has(i) ? chosen! : rest!))
  if (priorities.every((p) => p === 'skip')) throw usageError(`--skip ${sel.items.join(',')} leaves no file to download`, command)
  return { priorities }
}
