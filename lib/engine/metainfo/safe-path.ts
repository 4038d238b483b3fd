/**
 * Path safety for names that come from strangers. A torrent's file paths are
 * joined under the user's save folder, so every component is checked on its
 * own (no separators, no `..`, no drive letters, no control characters) rather
 * than normalising the joined path: normalising hides the attack instead of
 * refusing it, and differs between platforms.
 *
 * @module
 */
import { resolve, sep } from 'node:path'
import { MAX_COMPONENT_BYTES, MAX_PATH_BYTES, MAX_PATH_DEPTH } from './limits.ts'

const utf8 = new TextEncoder()

/**
 * Why `component` may not be used as one path component, or null when it is safe.
 *
 * @example
 * componentProblem('..')        // 'component ".." is not allowed'
 * componentProblem('song.mp3')  // null
 */
export function componentProblem (component: string): string | null {
  if (component.length === 0) return 'empty path component is not allowed'
  if (component === '.' || component === '..') return `component "${component}" is not allowed`
  if (component.includes('/')) return `component ${quote(component)} contains "/"`
  if (component.includes('\\')) return `component ${quote(component)} contains "\\"`
  if (component.includes('\0')) return `component ${quote(component)} contains a NUL byte`
  // C0 controls and DEL: invisible in listings and refused by some filesystems.
  if (/[\x00-\x1f\x7f]/.test(component)) return `component ${quote(component)} contains a control character`
  if (/^[A-Za-z]:/.test(component)) return `component ${quote(component)} looks like a drive letter`
  if (utf8.encode(component).length > MAX_COMPONENT_BYTES) return `component ${quote(component)} is longer than ${MAX_COMPONENT_BYTES} bytes`
  return null
}

/**
 * Why a whole relative path (list of components) is unsafe, or null.
 *
 * @example
 * pathProblem(['album', 'track.mp3']) // null
 * pathProblem(['album', '..', 'x'])   // 'component ".." is not allowed'
 */
export function pathProblem (components: readonly string[]): string | null {
  if (components.length === 0) return 'empty path'
  if (components.length > MAX_PATH_DEPTH) return `path is deeper than ${MAX_PATH_DEPTH} components`
  for (const c of components) {
    const p = componentProblem(c)
    if (p !== null) return p
  }
  if (utf8.encode(components.join('/')).length > MAX_PATH_BYTES) return `path is longer than ${MAX_PATH_BYTES} bytes`
  return null
}

/**
 * Files whose paths collide: two identical paths, or one file's path used as a
 * directory of another (`a/b` and `a/b/c`). Returns the indexes of the first
 * offending pair, or null. Comparison is exact (case-sensitive), as on Linux.
 *
 * @example
 * pathCollision([['d', 'a'], ['d', 'a']]) // { first: 0, second: 1, kind: 'duplicate' }
 */
export function pathCollision (paths: ReadonlyArray<readonly string[] | null>): { first: number; second: number; kind: 'duplicate' | 'prefix' } | null {
  const files = new Map<string, number>()
  // A NUL cannot appear inside a checked component, so it is a safe joiner.
  const J = '\0'
  for (let i = 0; i < paths.length; i++) {
    const p = paths[i]
    if (p == null) continue
    const full = p.join(J)
    const dup = files.get(full)
    if (dup !== undefined) return { first: dup, second: i, kind: 'duplicate' }
    files.set(full, i)
  }
  for (let i = 0; i < paths.length; i++) {
    const p = paths[i]
    if (p == null) continue
    let prefix = ''
    for (let k = 0; k < p.length - 1; k++) {
      prefix = k === 0 ? (p[0] as string) : prefix + J + (p[k] as string)
      const f = files.get(prefix)
      if (f !== undefined) return { first: f, second: i, kind: 'prefix' }
    }
  }
  return null
}

/**
 * True when joining `components` under `root` stays strictly inside `root`.
 * Used by tests as the final word on traversal, independent of the checks above.
 *
 * @example
 * staysInside('/srv/dl', ['a', 'b.txt'])  // true
 * staysInside('/srv/dl', ['..', 'etc'])   // false
 */
export function staysInside (root: string, components: readonly string[]): boolean {
  const base = resolve(root)
  const joined = resolve(base, ...components)
  return joined.startsWith(base + sep) && joined.length > base.length + 1
}

function quote (s: string): string {
  const shown = s.length > 40 ? `${s.slice(0, 40)}...` : s
  return JSON.stringify(shown)
}
