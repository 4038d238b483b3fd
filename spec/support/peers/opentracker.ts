/**
 * Debian's opentracker on 127.0.0.1 (HTTP and UDP on one port). The Debian build only serves
 * whitelisted infohashes; it re-reads the whitelist on SIGHUP (checked on
 * 0.0~git20210823.110868e), so allow() rewrites the file, signals, and then probes until the
 * tracker answers for the new hashes.
 */
import { chmod, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort, waitForTcp } from './ports.ts'
import { spawnLogged, type ChildHandle } from './process.ts'
import { makeTempDir } from './tmp.ts'
import { pollUntil } from './wait.ts'

/** A running opentracker. */
export interface OpenTracker {
  readonly port: number
  /** `http://127.0.0.1:PORT/announce` */
  readonly httpAnnounce: string
  /** `udp://127.0.0.1:PORT` (BEP 15; the path is ignored) */
  readonly udpAnnounce: string
  /** Both URLs, HTTP first. */
  readonly announce: readonly string[]
  readonly logPath: string
  readonly process: ChildHandle
  /** Adds infohashes (hex) to the whitelist; resolves once the tracker serves them. */
  allow(infoHashes: string | readonly string[]): Promise<void>
  /** Scrape counts for an infohash (hex). */
  scrape(infoHash: string): Promise<ScrapeCounts>
  /** Kills the tracker and removes its folder. Safe to call twice. */
  close(): Promise<void>
}

/** Counts from a scrape. */
export interface ScrapeCounts {
  readonly complete: number
  readonly incomplete: number
  readonly downloaded: number
}

/** Options of {@link startOpentracker}. */
export interface OpenTrackerOptions {
  /** Infohashes (hex) to whitelist from the start. */
  readonly infoHashes?: readonly string[]
}

function percentEncodeHex (hex: string): string {
  return hex.toLowerCase().replace(/../g, (byte) => `%${byte}`)
}

function scrapeInt (body: string, key: string): number {
  const m = new RegExp(`${key}i(\\d+)e`).exec(body)
  return m === null ? 0 : Number(m[1])
}

/**
 * Starts opentracker on a free port of 127.0.0.1 and waits until it accepts connections.
 *
 * @example
 * const tracker = await startOpentracker()
 * t.after(() => tracker.close())
 * await tracker.allow(parsed.infoHash)
 * // make the torrent with announce: [tracker.httpAnnounce]
 */
export async function startOpentracker (options: OpenTrackerOptions = {}): Promise<OpenTracker> {
  // opentracker drops root (to nobody) before it reads the whitelist: the folder must be readable.
  const dir = await makeTempDir('opentracker-', { worldReadable: true })
  const whitelistPath = join(dir.path, 'whitelist.txt')
  const allowed = new Set<string>((options.infoHashes ?? []).map((h) => h.toLowerCase()))
  const writeWhitelist = async (): Promise<void> => {
    const temp = `${whitelistPath}.new`
    await writeFile(temp, [...allowed].map((h) => `${h}\n`).join(''))
    await chmod(temp, 0o644)
    await rename(temp, whitelistPath)
  }
  let child: ChildHandle | undefined
  let port = 0
  try {
    await writeWhitelist()
    for (let attempt = 0; ; attempt++) {
      port = await freePort('both')
      const configPath = join(dir.path, 'opentracker.conf')
      // rootdir /: opentracker chroots (when root) before reading the whitelist by its absolute path.
      await writeFile(configPath, `listen.tcp_udp 127.0.0.1:${port}\naccess.whitelist ${whitelistPath}\ntracker.rootdir /\n`)
      await chmod(configPath, 0o644)
      child = spawnLogged('opentracker', ['-f', configPath], { logPath: join(dir.path, 'opentracker.log'), cwd: dir.path, graceMs: 1000 })
      const c = child
      try {
        await waitForTcp(port, 5000, () => c.exitInfo() === undefined)
        break
      } catch (err) {
        await c.close()
        if (attempt >= 2) throw new Error(`opentracker did not start: ${(err as Error).message}\n${c.logTail()}`)
      }
    }
  } catch (err) {
    await child?.close()
    await dir.close()
    throw err
  }
  const proc = child
  const base = `http://127.0.0.1:${port}`

  const announceProbe = async (infoHash: string, event?: string): Promise<string> => {
    // A throwaway peer on port 9 (discard); removed again with event=stopped.
    const query = `info_hash=${percentEncodeHex(infoHash)}&peer_id=-TP0000-probe0000000&port=9` +
      `&uploaded=0&downloaded=0&left=0&numwant=0&compact=1${event !== undefined ? `&event=${event}` : ''}`
    const response = await fetch(`${base}/announce?${query}`)
    return await response.text()
  }

  let closing: Promise<void> | undefined
  return {
    port,
    httpAnnounce: `${base}/announce`,
    udpAnnounce: `udp://127.0.0.1:${port}`,
    announce: [`${base}/announce`, `udp://127.0.0.1:${port}`],
    logPath: proc.logPath,
    process: proc,
    allow: async (infoHashes) => {
      const list = (typeof infoHashes === 'string' ? [infoHashes] : [...infoHashes]).map((h) => h.toLowerCase())
      for (const h of list) {
        if (!/^[0-9a-f]{40}$/.test(h)) throw new Error(`opentracker.allow: not a hex infohash: ${h}`)
        allowed.add(h)
      }
      await writeWhitelist()
      proc.signal('SIGHUP')
      for (const h of list) {
        await pollUntil(async () => !(await announceProbe(h)).includes('not authorized'), {
          timeoutMs: 5000, intervalMs: 50, what: `opentracker to whitelist ${h}`, explain: () => proc.logTail()
        })
        await announceProbe(h, 'stopped')
      }
    },
    scrape: async (infoHash) => {
      const body = await (await fetch(`${base}/scrape?info_hash=${percentEncodeHex(infoHash)}`)).text()
      return { complete: scrapeInt(body, 'complete'), incomplete: scrapeInt(body, 'incomplete'), downloaded: scrapeInt(body, 'downloaded') }
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
