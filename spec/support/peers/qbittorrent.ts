/**
 * qbittorrent-nox (Debian's qBittorrent 4.5.2 on libtorrent 2.0.8), headless, with its own
 * profile folder, peer port and Web API on 127.0.0.1 (no auth for localhost). Tests add
 * torrents and peers and poll progress through the Web API.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort, waitForTcp } from './ports.ts'
import { spawnLogged, type ChildHandle } from './process.ts'
import { makeTempDir } from './tmp.ts'
import { FatalPollError, pollUntil } from './wait.ts'

/** A torrent as /api/v2/torrents/info reports it (the fields tests use; others pass through). */
export interface QbitTorrentInfo {
  readonly hash: string
  readonly name: string
  /** 0..1 */
  readonly progress: number
  /** e.g. 'downloading', 'stalledDL', 'uploading', 'stalledUP', 'checkingDL', 'error', 'missingFiles' */
  readonly state: string
  readonly downloaded: number
  readonly uploaded: number
  readonly num_seeds: number
  readonly num_leechs: number
  readonly save_path: string
  readonly size: number
  readonly [key: string]: unknown
}

/** Options of {@link Qbittorrent.addTorrent}. */
export interface AddTorrentOptions {
  /** Folder that holds (or will hold) the content: the PARENT of a multi-file torrent's top folder. */
  readonly savePath: string
  /** Trust existing data without hashing it (for seeding). */
  readonly skipChecking?: boolean
  /** Add paused (default false). */
  readonly paused?: boolean
}

/** A running qbittorrent-nox. */
export interface Qbittorrent {
  /** Its BitTorrent port on 127.0.0.1. */
  readonly peerPort: number
  /** "127.0.0.1:PORT", to give another client as an explicit peer. */
  readonly peer: string
  /** Base URL of its Web API, e.g. http://127.0.0.1:PORT */
  readonly webUrl: string
  readonly logPath: string
  readonly process: ChildHandle
  /** Adds a torrent from its bytes (infoHash: its hex infohash); resolves once qBittorrent lists it. */
  addTorrent(torrent: Uint8Array, infoHash: string, options: AddTorrentOptions): Promise<void>
  /** Tells qBittorrent to connect to peers ("127.0.0.1:PORT") for a torrent. */
  addPeers(infoHash: string, peers: readonly string[]): Promise<void>
  /** Info of one torrent (undefined if unknown). */
  info(infoHash: string): Promise<QbitTorrentInfo | undefined>
  /** Info of all torrents. */
  list(): Promise<QbitTorrentInfo[]>
  /**
   * Resolves when the torrent has every piece (progress 1, not checking); rejects on an error
   * state or after `timeoutMs`. `peers` are re-added every few seconds while waiting, since
   * libtorrent drops peers it failed to reach.
   */
  waitComplete(infoHash: string, timeoutMs: number, peers?: readonly string[]): Promise<QbitTorrentInfo>
  /** Removes a torrent (keeps its data unless deleteFiles). */
  remove(infoHash: string, deleteFiles?: boolean): Promise<void>
  /** Any Web API call: POST when `form` is given, else GET. Returns the body text; throws on HTTP errors. */
  api(path: string, form?: Record<string, string> | FormData): Promise<string>
  /** Stops qbittorrent-nox and removes its profile. Safe to call twice. */
  close(): Promise<void>
}

/** Options of {@link startQbittorrent}. */
export interface QbittorrentOptions {
  /** Encryption: 0 prefer/allow (qBittorrent's default), 1 require, 2 disable (default 0). */
  readonly encryption?: 0 | 1 | 2
  /** Extra lines for the [BitTorrent] section, e.g. 'Session\\MaxConnections=10'. */
  readonly bitTorrentSettings?: readonly string[]
}

function config (peerPort: number, webPort: number, downloads: string, options: QbittorrentOptions): string {
  return [
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
    `Session\\Encryption=${options.encryption ?? 0}`,
    // Every test peer is 127.0.0.1: libtorrent would otherwise keep only one connection per IP.
    'Session\\MultiConnectionsPerIp=true',
    'Session\\QueueingSystemEnabled=false',
    'Session\\AnonymousModeEnabled=false',
    `Session\\DefaultSavePath=${downloads}`,
    'Session\\AddTorrentPaused=false',
    'Session\\IgnoreLimitsOnLAN=true',
    ...(options.bitTorrentSettings ?? []),
    '',
    '[Preferences]',
    'WebUI\\Address=127.0.0.1',
    `WebUI\\Port=${webPort}`,
    'WebUI\\LocalHostAuth=false',
    'WebUI\\CSRFProtection=false',
    'WebUI\\HostHeaderValidation=false',
    'Connection\\ResolvePeerCountries=false',
    'Connection\\UPnP=false',
    'General\\Locale=en',
    ''
  ].join('\n')
}

/**
 * Starts qbittorrent-nox with a fresh profile and waits until its Web API answers.
 *
 * @example
 * const qb = await startQbittorrent()
 * t.after(() => qb.close())
 * await qb.addTorrent(bytes, infoHash, { savePath: out.path })
 * await qb.addPeers(infoHash, [seeder.peer])
 * await qb.waitComplete(infoHash, 30_000, [seeder.peer])
 */
export async function startQbittorrent (options: QbittorrentOptions = {}): Promise<Qbittorrent> {
  const dir = await makeTempDir('qbittorrent-')
  let child: ChildHandle | undefined
  let peerPort = 0
  let webPort = 0
  try {
    const confDir = join(dir.path, 'profile', 'qBittorrent', 'config')
    await mkdir(confDir, { recursive: true })
    await mkdir(join(dir.path, 'downloads'), { recursive: true })
    for (let attempt = 0; ; attempt++) {
      peerPort = await freePort()
      webPort = await freePort()
      await writeFile(join(confDir, 'qBittorrent.conf'), config(peerPort, webPort, join(dir.path, 'downloads'), options))
      child = spawnLogged('qbittorrent-nox', [`--profile=${join(dir.path, 'profile')}`, `--webui-port=${webPort}`], {
        logPath: join(dir.path, `qbittorrent-${attempt}.log`),
        env: { ...process.env, HOME: dir.path, XDG_CONFIG_HOME: join(dir.path, 'xdg'), QT_QPA_PLATFORM: 'offscreen' },
        graceMs: 3000
      })
      const c = child
      try {
        await waitForTcp(webPort, 15_000, () => c.exitInfo() === undefined)
        await pollUntil(async () => (await fetch(`http://127.0.0.1:${webPort}/api/v2/app/version`)).ok, {
          timeoutMs: 10_000, what: 'qbittorrent Web API'
        })
        break
      } catch (err) {
        await c.close()
        if (attempt >= 2) throw new Error(`qbittorrent-nox did not start: ${(err as Error).message}\n${c.logTail()}`)
      }
    }
  } catch (err) {
    await child?.close()
    await dir.close()
    throw err
  }
  const proc = child
  const webUrl = `http://127.0.0.1:${webPort}`

  const api = async (path: string, form?: Record<string, string> | FormData): Promise<string> => {
    const init: RequestInit = {}
    if (form !== undefined) {
      init.method = 'POST'
      init.body = form instanceof FormData ? form : new URLSearchParams(form)
    }
    const response = await fetch(`${webUrl}/api/v2/${path}`, init)
    const text = await response.text()
    if (!response.ok) throw new Error(`qbittorrent ${path}: HTTP ${response.status} ${text}`)
    return text
  }
  const info = async (infoHash: string): Promise<QbitTorrentInfo | undefined> => {
    const list = JSON.parse(await api(`torrents/info?hashes=${infoHash.toLowerCase()}`)) as QbitTorrentInfo[]
    return list[0]
  }
  const addPeers = async (infoHash: string, peers: readonly string[]): Promise<void> => {
    await api('torrents/addPeers', { hashes: infoHash.toLowerCase(), peers: peers.join('|') })
  }

  let closing: Promise<void> | undefined
  return {
    peerPort,
    peer: `127.0.0.1:${peerPort}`,
    webUrl,
    logPath: proc.logPath,
    process: proc,
    api,
    info,
    list: async () => JSON.parse(await api('torrents/info')) as QbitTorrentInfo[],
    addTorrent: async (torrent, infoHash, add) => {
      const form = new FormData()
      form.append('torrents', new Blob([torrent], { type: 'application/x-bittorrent' }), 'upload.torrent')
      form.append('savepath', add.savePath)
      form.append('skip_checking', add.skipChecking === true ? 'true' : 'false')
      form.append('paused', add.paused === true ? 'true' : 'false')
      form.append('autoTMM', 'false')
      const reply = await api('torrents/add', form)
      if (reply.trim() !== 'Ok.') throw new Error(`qbittorrent refused the torrent: ${reply}`)
      await pollUntil(async () => (await info(infoHash)) !== undefined, { timeoutMs: 10_000, what: `qbittorrent to list ${infoHash}` })
    },
    addPeers,
    waitComplete: async (infoHash, timeoutMs, peers = []) => {
      let lastPeersAt = 0
      let last: QbitTorrentInfo | undefined
      return await pollUntil(async () => {
        if (peers.length > 0 && Date.now() - lastPeersAt > 3000) {
          lastPeersAt = Date.now()
          await addPeers(infoHash, peers)
        }
        last = await info(infoHash)
        if (last === undefined) throw new Error(`qbittorrent does not know ${infoHash}`)
        if (last.state === 'error' || last.state === 'missingFiles') {
          throw new FatalPollError(`qbittorrent torrent ${infoHash} in state ${last.state}\n${proc.logTail(10)}`)
        }
        return last.progress >= 1 && !last.state.startsWith('checking') ? last : undefined
      }, {
        timeoutMs,
        intervalMs: 200,
        what: `qbittorrent to complete ${infoHash}`,
        explain: () => `last info: ${JSON.stringify(last === undefined ? null : { state: last.state, progress: last.progress, num_seeds: last.num_seeds })}\n${proc.logTail(10)}`
      })
    },
    remove: async (infoHash, deleteFiles = false) => {
      await api('torrents/delete', { hashes: infoHash.toLowerCase(), deleteFiles: deleteFiles ? 'true' : 'false' })
    },
    close: () => {
      closing ??= (async () => {
        await proc.close()
        await dir.close()
      })()
      return closing
    }
  }
}
