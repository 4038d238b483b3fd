/**
 * Test data: trees of random files, and a byte-for-byte comparison of two trees that
 * streams (1 MiB at a time), so it works for large downloads without holding files in memory.
 */
import { randomFillSync } from 'node:crypto'
import { mkdir, open, readdir, stat } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'

const CHUNK = 1 << 20

/** One file of a generated tree; `path` is relative to the tree's root, with '/' separators. */
export interface TreeFile {
  readonly path: string
  readonly size: number
}

/** A generated tree. */
export interface RandomTree {
  /** The tree's root folder (the folder given to mktorrent; its basename is the torrent name). */
  readonly root: string
  readonly files: readonly TreeFile[]
  readonly totalBytes: number
}

/** Options of {@link makeRandomTree}. */
export interface RandomTreeOptions {
  /** Total size in bytes (split unevenly over `fileCount` files). Ignored when `sizes` is given. */
  readonly totalBytes?: number
  /** Number of files (default 5). */
  readonly fileCount?: number
  /** Exact file sizes in bytes; overrides totalBytes/fileCount. */
  readonly sizes?: readonly number[]
}

/** Writes `size` random bytes to `path` in 1 MiB chunks. */
export async function writeRandomFile (path: string, size: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const handle = await open(path, 'w')
  try {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)))
    let written = 0
    while (written < size) {
      const n = Math.min(buffer.length, size - written)
      randomFillSync(buffer, 0, n)
      await handle.write(buffer, 0, n, written)
      written += n
    }
  } finally {
    await handle.close()
  }
}

/** Uneven sizes summing to total: files don't line up with piece boundaries. */
function splitSizes (total: number, count: number): number[] {
  if (count <= 1) return [total]
  const weights = Array.from({ length: count }, (_, i) => 1 + ((i * 7919) % 5))
  const sum = weights.reduce((a, b) => a + b, 0)
  const sizes = weights.map((w) => Math.floor((total * w) / sum) + (w % 3) * 13)
  const drift = sizes.reduce((a, b) => a + b, 0) - total
  sizes[0] = Math.max(0, sizes[0]! - drift)
  return sizes
}

/**
 * Creates `root` (must not exist or be empty) with a multi-file tree of random data, in
 * nested folders: `a.bin`, `sub/b.bin`, `sub/deeper/c.bin`, `d.bin`, ...
 *
 * @example
 * const tree = await makeRandomTree(join(tmp.path, 'seed', 'payload'), { totalBytes: 4 << 20, fileCount: 4 })
 */
export async function makeRandomTree (root: string, options: RandomTreeOptions = {}): Promise<RandomTree> {
  const sizes = options.sizes ?? splitSizes(options.totalBytes ?? (4 << 20), options.fileCount ?? 5)
  const folders = ['', 'sub', join('sub', 'deeper')]
  const files: TreeFile[] = []
  for (let i = 0; i < sizes.length; i++) {
    const name = `${String.fromCharCode(97 + (i % 26))}${i >= 26 ? i : ''}.bin`
    const rel = join(folders[i % folders.length]!, name)
    await writeRandomFile(join(root, rel), sizes[i]!)
    files.push({ path: rel.split(sep).join('/'), size: sizes[i]! })
  }
  await mkdir(root, { recursive: true })
  return { root, files, totalBytes: sizes.reduce((a, b) => a + b, 0) }
}

/** The first difference between two trees. */
export interface TreeDifference {
  /** Relative path ('/' separators) of the file that differs. */
  readonly path: string
  readonly kind: 'missing' | 'extra' | 'size' | 'content'
  /** Byte offset of the first differing byte (for 'content'), or the smaller size (for 'size'). */
  readonly offset?: number
  readonly detail: string
}

/** Lists the regular files under root, relative paths with '/' separators, sorted. */
export async function listFiles (root: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) await walk(full)
      else if (entry.isFile()) out.push(relative(root, full).split(sep).join('/'))
    }
  }
  await walk(root)
  return out.sort()
}

/**
 * Compares two files byte for byte; returns the offset of the first difference
 * (the shorter length if one is a prefix of the other), or undefined when equal.
 */
export async function firstDifference (a: string, b: string): Promise<number | undefined> {
  const [ha, hb] = await Promise.all([open(a, 'r'), open(b, 'r')])
  try {
    const ba = Buffer.allocUnsafe(CHUNK)
    const bb = Buffer.allocUnsafe(CHUNK)
    let position = 0
    for (;;) {
      const [ra, rb] = await Promise.all([ha.read(ba, 0, CHUNK, position), hb.read(bb, 0, CHUNK, position)])
      const n = Math.min(ra.bytesRead, rb.bytesRead)
      if (ba.compare(bb, 0, n, 0, n) !== 0) {
        for (let i = 0; i < n; i++) if (ba[i] !== bb[i]) return position + i
      }
      if (ra.bytesRead !== rb.bytesRead) return position + n
      if (n === 0) return undefined
      position += n
    }
  } finally {
    await Promise.all([ha.close(), hb.close()])
  }
}

/** Options of {@link compareTrees}. */
export interface CompareOptions {
  /** Ignore files present in `actual` only (e.g. a client's control files). */
  readonly ignoreExtra?: boolean
}

/**
 * Compares two trees (or two files) byte for byte. Resolves to undefined when they hold the
 * same files with the same bytes, else to the first difference found.
 *
 * @example
 * const diff = await compareTrees(tree.root, join(out, 'payload'))
 * assert.equal(diff, undefined, JSON.stringify(diff))
 */
export async function compareTrees (expected: string, actual: string, options: CompareOptions = {}): Promise<TreeDifference | undefined> {
  const [se, sa] = await Promise.all([stat(expected), stat(actual).catch(() => undefined)])
  if (sa === undefined) return { path: '', kind: 'missing', detail: `${actual} does not exist` }
  if (se.isFile()) {
    return await compareOne(expected, actual, '', se.size, sa.size)
  }
  const [fe, fa] = await Promise.all([listFiles(expected), listFiles(actual)])
  const inActual = new Set(fa)
  for (const path of fe) {
    if (!inActual.has(path)) return { path, kind: 'missing', detail: `${path} missing from ${actual}` }
  }
  if (options.ignoreExtra !== true) {
    const inExpected = new Set(fe)
    const extra = fa.find((path) => !inExpected.has(path))
    if (extra !== undefined) return { path: extra, kind: 'extra', detail: `unexpected file ${extra} in ${actual}` }
  }
  for (const path of fe) {
    const [a, b] = await Promise.all([stat(join(expected, path)), stat(join(actual, path))])
    const diff = await compareOne(join(expected, path), join(actual, path), path, a.size, b.size)
    if (diff !== undefined) return diff
  }
  return undefined
}

async function compareOne (expected: string, actual: string, path: string, sizeE: number, sizeA: number): Promise<TreeDifference | undefined> {
  if (sizeE !== sizeA) {
    return { path, kind: 'size', offset: Math.min(sizeE, sizeA), detail: `${path || actual}: size ${sizeA}, expected ${sizeE}` }
  }
  const offset = await firstDifference(expected, actual)
  if (offset === undefined) return undefined
  return { path, kind: 'content', offset, detail: `${path || actual}: first difference at byte ${offset}` }
}
