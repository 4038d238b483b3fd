/**
 * qBittorrent (qbittorrent-nox, libtorrent 2.0) as an optional benchmark
 * leecher: a fresh headless instance per run, bound to loopback, driven
 * through its Web API. It finds the seeder through the torrent's tracker.
 */
import { spawn } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { killOnExit } from './children.ts'
import { verifyOutput } from './data.ts'
import type { LeechRun } from './leech.ts'
import { procSnapshot } from './measure.ts'
import { freePort, sleep } from './net.ts'
import { workDir } from './paths.ts'

/** "qBittorrent v4.5.2", or null when qbittorrent-nox is not installed. */
export const qbittorrentVersion = (): string | null => {
  try {
    return execFileSync('qbittorrent-nox', ['--version'], { encoding: 'utf8' }).trim()
  } catch {
    return null
  }
}

const config = (peerPort: number, webPort: number, downloads: string): string =>
  [
    '[LegalNotice]',
    'Accepted=true',
    '',
    '[BitTorrent]',
    'Session\\Interface=lo',
    'Session\\InterfaceName=lo',
    'Session\\InterfaceAddress=127.0.0.1',
    `Session\\Port=${peerPort}`,
    'Session\\DHTEnabled=false',
    'Session\\LSDEnabled=false',
    'Session\\PeXEnabled=false',
    'Session\\QueueingSystemEnabled=false',
    'Session\\AddTorrentPaused=false',
    `Session\\DefaultSavePath=${downloads}`,
    '',
    '[Preferences]',
    'WebUI\\Address=127.0.0.1',
    `WebUI\\Port=${webPort}`,
    'WebUI\\LocalHostAuth=false',
    'WebUI\\CSRFProtection=false',
    'WebUI\\HostHeaderValidation=false',
    'Connection\\ResolvePeerCountries=false',
    ''
  ].join('\n')

/**
 * One download of `torrent` by a fresh qbittorrent-nox, measured from spawn
 * to completion (CPU and VmHWM read from /proc just before it is stopped;
 * its RSS includes file pages libtorrent 2 maps).
 */
export const qbittorrentLeech = async (
  torrent: string,
  original: string,
  timeoutMs: number,
  peers: readonly string[] = []
): Promise<LeechRun> => {
  mkdirSync(workDir, { recursive: true })
  const dir = mkdtempSync(join(workDir, 'qbt-'))
  const downloads = join(dir, 'downloads')
  const confDir = join(dir, 'profile', 'qBittorrent', 'config')
  mkdirSync(confDir, { recursive: true })
  mkdirSync(downloads)
  const [peerPort, webPort] = [await freePort(), await freePort()]
  writeFileSync(join(confDir, 'qBittorrent.conf'), config(peerPort, webPort, downloads))
  const t0 = performance.now()
  const child = killOnExit(spawn('qbittorrent-nox', [`--profile=${join(dir, 'profile')}`, `--webui-port=${webPort}`], { stdio: 'ignore' }))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const web = `http://127.0.0.1:${webPort}/api/v2`
  const deadline = Date.now() + timeoutMs
  let error: string | null = null
  let tAdded = NaN
  let tDone = NaN
  let cpuS = NaN
  let peakRssBytes = NaN
  try {
    for (;;) {
      if (Date.now() > deadline) throw new Error('Web API did not come up')
      if (child.exitCode !== null) throw new Error(`qbittorrent-nox exited (${child.exitCode})`)
      const up = await fetch(`${web}/app/version`).then((r) => r.ok, () => false)
      if (up) break
      await sleep(50)
    }
    const form = new FormData()
    form.append('torrents', new Blob([readFileSync(torrent)]), basename(torrent))
    form.append('savepath', downloads)
    const added = await fetch(`${web}/torrents/add`, { method: 'POST', body: form })
    if (!added.ok) throw new Error(`torrents/add: HTTP ${added.status}`)
    tAdded = performance.now()
    let lastPeerAdd = 0
    for (;;) {
      if (Date.now() > deadline) throw new Error('timed out')
      const list = (await (await fetch(`${web}/torrents/info`)).json()) as { progress: number; state: string; hash: string; num_seeds: number }[]
      const t = list[0]
      // Tracker peers alone sometimes leave it idle ("stalledDL"): hand it the seeder too, again while it has none.
      if (t && peers.length && t.num_seeds === 0 && Date.now() - lastPeerAdd > 2_000) {
        lastPeerAdd = Date.now()
        await fetch(`${web}/torrents/addPeers`, { method: 'POST', body: new URLSearchParams({ hashes: t.hash, peers: peers.join('|') }) }).catch(() => {})
      }
      if (t && (t.state === 'error' || t.state === 'missingFiles')) throw new Error(`state ${t.state}`)
      if (t && t.progress >= 1 && !t.state.startsWith('checking')) break
      await sleep(50)
    }
    tDone = performance.now()
    const snap = procSnapshot(child.pid!)
    cpuS = snap.cpuS
    peakRssBytes = snap.peakRssBytes
  } catch (e) {
    error = e instanceof Error ? e.message : String(e)
  } finally {
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
  try {
    error ??= verifyOutput(join(downloads, basename(original)), original, 'sample')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return { wallS: (tDone - t0) / 1000, transferS: (tDone - tAdded) / 1000, cpuS, peakRssBytes, error }
}
