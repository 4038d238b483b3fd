/**
 * The compiled package (dist/), kept fresh for specs that run it as a user
 * would: the CLI's bin, a packed tarball.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The checkout's root folder. */
export const root = fileURLToPath(new URL('../..', import.meta.url))

/** The newest modification time (ms) of a .ts file under `dir`. */
const newestSource = (dir: string): number => {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p))
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  return newest
}

const builtAt = (): number => {
  try {
    return statSync(join(root, 'dist', 'cli', 'main.js')).mtimeMs
  } catch {
    return 0
  }
}

const isFresh = (): boolean =>
  builtAt() >= Math.max(...['lib', 'operators', 'cli', 'types'].map((d) => newestSource(join(root, d))), statSync(join(root, 'tsconfig.build.json')).mtimeMs)

let checked = false
/**
 * Build dist/ (`npm run build`'s tsc) when any source is newer than it. A lock
 * folder keeps two spec processes from building at once; the second one finds
 * the build fresh once the first is done.
 */
export const ensureBuilt = (): void => {
  if (checked) return
  const lock = join(root, '.build-lock')
  const deadline = Date.now() + 300_000
  for (;;) {
    if (isFresh()) break
    try {
      mkdirSync(lock)
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} is held for too long; remove it if no build runs`)
      execFileSync('sleep', ['0.5'])
      continue
    }
    try {
      if (!isFresh()) execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' })
    } finally {
      rmdirSync(lock)
    }
    break
  }
  checked = true
}
