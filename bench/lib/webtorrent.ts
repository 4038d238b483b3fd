/**
 * WebTorrent 2.8.x as a benchmark peer, installed in its own folder
 * (bench/webtorrent/, with uint8-util pinned through "overrides" and
 * --ignore-scripts so ip-set / node-datachannel install hooks never run).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { benchDir } from './paths.ts'

export const webtorrentDir = join(benchDir, 'webtorrent')
export const webtorrentLeech = join(webtorrentDir, 'leech.mjs')

/**
 * Install WebTorrent on first use; returns its version, or throws with why not.
 * @example
 * ```ts
 * const version = ensureWebtorrent() // "2.8.5"
 * ```
 */
export const ensureWebtorrent = (log: (s: string) => void = console.log): string => {
  const pkg = join(webtorrentDir, 'node_modules', 'webtorrent', 'package.json')
  if (!existsSync(pkg)) {
    log('[bench] installing webtorrent into bench/webtorrent (npm install --ignore-scripts) ...')
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    execFileSync(npm, ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: webtorrentDir,
      stdio: ['ignore', 'inherit', 'inherit']
    })
  }
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version
}
