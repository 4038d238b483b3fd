/**
 * Benchmark data: one file of random bytes and its .torrent (mktorrent,
 * 256 KiB pieces), cached under bench/.work/ across runs, plus helpers to
 * warm the page cache and verify what a leecher wrote.
 */
import { execFileSync } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { GiB, MiB, workDir } from './paths.ts'

export interface Dataset {
  /** Folder that holds the payload file (give it to seeders as -d / savefolder). */
  readonly dir: string
  /** Name of the payload file, which is also the torrent's name. */
  readonly name: string
  readonly file: string
  readonly size: number
  /** .torrent made with a placeholder announce; use {@link torrentWithAnnounce}. */
  readonly torrentFile: string
  readonly infoHash: string
  readonly pieceLength: number
}

const label = (size: number): string => (size % GiB === 0 ? `${size / GiB}GiB` : `${size / MiB}MiB`)

/** Placeholder tracker baked into the cached .torrent; runs splice in their own. */
const PLACEHOLDER_ANNOUNCE = 'http://127.0.0.1:9/announce'

/**
 * Writes `size` random bytes to `file` (its folder is made first), 16 MiB at a
 * time.
 * @example
 * ```ts
 * writeRandomFile('/tmp/blob.bin', 64 * MiB)
 * ```
 */
export const writeRandomFile = (file: string, size: number): void => {
  mkdirSync(dirname(file), { recursive: true })
  const fd = openSync(file, 'w')
  const chunk = Buffer.allocUnsafe(16 * MiB)
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(chunk.length, size - written)
      randomFillSync(chunk, 0, n)
      writeSync(fd, chunk, 0, n)
      written += n
    }
  } finally {
    closeSync(fd)
  }
}

/**
 * Makes `file` hold `size` random bytes unless it already has that size.
 * @example
 * ```ts
 * ensureRandomFile('/tmp/blob.bin', 64 * MiB)
 * ```
 */
export const ensureRandomFile = (file: string, size: number): void => {
  if (existsSync(file) && statSync(file).size === size) return
  writeRandomFile(file, size)
}

/**
 * The cached dataset of `size` bytes, made on first use (random data,
 * mktorrent -l 18). Takes a few seconds per GiB the first time.
 * @example
 * ```ts
 * const ds = ensureDataset(64 * MiB)
 * ```
 */
export const ensureDataset = (size: number, log: (s: string) => void = console.log): Dataset => {
  const name = `payload-${label(size)}.bin`
  const dir = join(workDir, `data-${label(size)}`)
  const file = join(dir, name)
  const torrentFile = join(workDir, `data-${label(size)}.torrent`)
  const marker = join(workDir, `data-${label(size)}.ok`)
  const ok = existsSync(marker) && existsSync(torrentFile) && existsSync(file) && statSync(file).size === size
  if (!ok) {
    log(`[bench] generating ${label(size)} of random data in ${dir} ...`)
    rmSync(dir, { recursive: true, force: true })
    rmSync(marker, { force: true })
    writeRandomFile(file, size)
    rmSync(torrentFile, { force: true })
    // -d: no creation date, so the same data gives the same bytes.
    execFileSync('mktorrent', ['-a', PLACEHOLDER_ANNOUNCE, '-l', '18', '-d', '-o', torrentFile, file], { stdio: 'ignore' })
    writeFileSync(marker, new Date().toISOString() + '\n')
  }
  return { dir, name, file, size, torrentFile, infoHash: infoHashOf(readFileSync(torrentFile)), pieceLength: 256 * 1024 }
}

/** Hex v1 info hash of a .torrent whose info dictionary comes last (mktorrent's layout). */
export const infoHashOf = (torrent: Uint8Array): string => {
  const buf = Buffer.from(torrent)
  const at = buf.indexOf('4:infod')
  if (at < 0) throw new Error('no info dictionary')
  // mktorrent writes keys sorted and "info" is the last key: the dict runs to the outer 'e'.
  return createHash('sha1').update(buf.subarray(at + 6, buf.length - 1)).digest('hex')
}

/**
 * A copy of the .torrent with its `announce` replaced (the info hash does not
 * change: announce is outside the info dictionary). Written next to `outFile`.
 * @example
 * ```ts
 * const t = torrentWithAnnounce(ds.torrentFile, tracker.url, join(runDir, 't.torrent'))
 * ```
 */
export const torrentWithAnnounce = (torrentFile: string, announce: string, outFile: string): string => {
  const buf = readFileSync(torrentFile)
  const head = Buffer.from('d8:announce')
  if (!buf.subarray(0, head.length).equals(head)) throw new Error(`${torrentFile}: announce is not the first key`)
  const colon = buf.indexOf(':', head.length)
  const len = Number(buf.subarray(head.length, colon).toString('latin1'))
  const rest = buf.subarray(colon + 1 + len)
  const url = Buffer.from(announce)
  writeFileSync(outFile, Buffer.concat([head, Buffer.from(`${url.length}:`), url, rest]))
  return outFile
}

/** Read a file once so it sits in the page cache ("warm"). */
export const warmCache = (file: string): void => {
  const fd = openSync(file, 'r')
  const buf = Buffer.allocUnsafe(8 * MiB)
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0) {}
  } finally {
    closeSync(fd)
  }
}

/** Fraction (0..1) of a file resident in the page cache, via util-linux fincore; NaN if unknown. */
export const cacheResidency = (file: string): number => {
  try {
    const out = execFileSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES', file], { encoding: 'utf8' })
    return Number(out.trim()) / statSync(file).size
  } catch {
    return NaN
  }
}

/**
 * Check a leecher's output against the original: size always; then either
 * every byte (`full`) or 16 spread 1 MiB samples plus the tail (`sample`).
 * Returns null when it matches, else what is wrong.
 */
export const verifyOutput = (output: string, original: string, mode: 'full' | 'sample'): string | null => {
  if (!existsSync(output)) return `missing ${output}`
  const size = statSync(original).size
  const got = statSync(output).size
  if (got !== size) return `size ${got}, expected ${size}`
  const a = openSync(output, 'r')
  const b = openSync(original, 'r')
  try {
    const chunk = MiB
    const bufA = Buffer.allocUnsafe(chunk)
    const bufB = Buffer.allocUnsafe(chunk)
    const offsets: number[] = []
    if (mode === 'full') for (let o = 0; o < size; o += chunk) offsets.push(o)
    else {
      for (let i = 0; i < 16; i++) offsets.push(Math.floor(((size - chunk) * i) / 15))
      offsets.push(Math.max(0, size - chunk))
    }
    for (const o of offsets) {
      const n = Math.min(chunk, size - o)
      readSync(a, bufA, 0, n, o)
      readSync(b, bufB, 0, n, o)
      if (!bufA.subarray(0, n).equals(bufB.subarray(0, n))) return `bytes differ in [${o}, ${o + n})`
    }
    return null
  } finally {
    closeSync(a)
    closeSync(b)
  }
}
