/**
 * The package as a user gets it: `npm pack` of this checkout, installed with
 * npm into a fresh folder that knows nothing of the repository. Used by the
 * README's "use it in your project" spec and by bench/cli-start.ts (install size).
 */
import { execFile } from 'node:child_process'
import { readdir, lstat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ensureBuilt, root } from './build.ts'

const run = promisify(execFile)

/**
 * `npm pack` of this checkout into `dest`; resolves to the tarball's path.
 * dist/ is built first if stale; pack's own `prepare` is skipped (it would
 * rebuild dist/ under specs that are running it).
 *
 * @example
 * const tarball = await packTarball(tmp.path)
 */
export const packTarball = async (dest: string): Promise<string> => {
  ensureBuilt()
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dest], { cwd: root, maxBuffer: 16 << 20 })
  const name = stdout.trim().split('\n').pop()!.trim()
  return join(dest, name)
}

/**
 * A new ESM project in `folder` (`npm init -y`, then `"type": "module"`) with
 * `packages` installed by npm (tarball paths or registry names). Prefers the
 * npm cache, so it also works offline once the packages were fetched.
 *
 * @example
 * await newProject(dir, [tarball, '@most/core', '@most/scheduler'])
 */
export const newProject = async (folder: string, packages: readonly string[]): Promise<void> => {
  await writeFile(join(folder, 'package.json'), `${JSON.stringify({ name: 'my-app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`)
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...packages], { cwd: folder, maxBuffer: 16 << 20 })
}

/** Bytes of every file under `dir` (symbolic links counted as links, not followed). */
export const treeBytes = async (dir: string): Promise<number> => {
  let total = 0
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) total += await treeBytes(p)
    else total += (await lstat(p)).size
  }
  return total
}

/** Packages in a node_modules folder (scoped ones counted one by one). */
export const packageCount = async (nodeModules: string): Promise<number> => {
  let n = 0
  for (const e of await readdir(nodeModules, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue
    n += e.name.startsWith('@') ? (await readdir(join(nodeModules, e.name))).length : 1
  }
  return n
}
