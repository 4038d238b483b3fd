/**
 * Transmission 3.00 (`transmission-daemon`) and rtorrent 0.9.8 run inside a
 * test's own network namespace ({@link NetnsPeer}), seeding existing data or
 * leeching into a folder, with DHT, LSD, PEX, uTP and port mapping off so
 * they meet exactly the peers of the test: the torrent's tracker, or a peer
 * that dials them. Encryption is set to what each calls "required":
 * Transmission `"encryption": 2`, rtorrent `require,require_RC4` (every
 * connection encrypted, with RC4 payload).
 */
import { execFileSync } from 'node:child_process'
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawnLogged, type ChildHandle } from './process.ts'
import { FatalPollError, pollUntil } from './wait.ts'
import type { NetnsPeer } from '../netns.ts'

/** The BitTorrent port both clients listen on inside their namespace. */
export const NETNS_PEER_PORT = 51413

/** A client running in a namespace. */
export interface NetnsClient {
  /** `inner address:port`, for the engine to dial. */
  readonly peer: string
  readonly process: ChildHandle
  /** Stop it (SIGTERM, then SIGKILL). Safe to call twice. */
  close(): Promise<void>
}

/** Which client, and what it does. */
export interface NetnsClientOptions {
  readonly ns: NetnsPeer
  /** The .torrent file. */
  readonly torrentPath: string
  /** Holds the data (a seeder) or receives it (a leecher): the parent of a single file. */
  readonly dataDir: string
  /** The client's own folder (config, session, log). */
  readonly workDir: string
  /** Upload limit (KiB/s). */
  readonly uploadKiBps?: number
}

/**
 * Resolves once something listens on TCP `port` inside the namespace (asked
 * of `ss` there, so the client never sees a probe connection from the
 * engine's address); rejects when the client exits first or after `timeoutMs`.
 */
const waitListening = (ns: NetnsPeer, port: number, child: ChildHandle, timeoutMs: number): Promise<true> =>
  pollUntil(
    () => {
      if (child.exitInfo() !== undefined) throw new FatalPollError(`exited (${JSON.stringify(child.exitInfo())})`)
      const [file, args] = ns.command('ss', ['-Hltn', `sport = :${port}`])
      return execFileSync(file, args, { encoding: 'utf8' }).trim() !== ''
    },
    { timeoutMs, intervalMs: 200, what: `a listener on port ${port} in ${ns.name}`, explain: () => child.logTail() }
  )

const started = async (name: string, options: NetnsClientOptions, child: ChildHandle): Promise<NetnsClient> => {
  try {
    await waitListening(options.ns, NETNS_PEER_PORT, child, 30_000)
  } catch (e) {
    await child.close()
    throw new Error(`${name} in ${options.ns.name} did not start: ${(e as Error).message}\n${child.logTail()}`)
  }
  return { peer: `${options.ns.innerAddress}:${NETNS_PEER_PORT}`, process: child, close: () => child.close(5000) }
}

/**
 * Start `transmission-daemon` in the foreground inside `options.ns`, with
 * `"encryption": 2` (required); the torrent is added through its watch
 * folder, so it seeds what `dataDir` holds or downloads into it.
 *
 * @example
 * ```ts
 * const tr = await startTransmission({ ns, torrentPath, dataDir, workDir })
 * t.after(() => tr.close())
 * ```
 */
export const startTransmission = async (options: NetnsClientOptions): Promise<NetnsClient> => {
  const watch = join(options.workDir, 'watch')
  await mkdir(watch, { recursive: true })
  await mkdir(options.dataDir, { recursive: true })
  await writeFile(join(options.workDir, 'settings.json'), JSON.stringify({
    'download-dir': options.dataDir,
    'incomplete-dir-enabled': false,
    'rename-partial-files': true,
    'bind-address-ipv4': options.ns.innerAddress,
    'peer-port': NETNS_PEER_PORT,
    'peer-port-random-on-start': false,
    'port-forwarding-enabled': false,
    encryption: 2,
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'utp-enabled': false,
    'rpc-enabled': false,
    'watch-dir-enabled': true,
    'watch-dir': watch,
    'ratio-limit-enabled': false,
    'idle-seeding-limit-enabled': false,
    'message-level': 2,
    ...(options.uploadKiBps !== undefined ? { 'speed-limit-up-enabled': true, 'speed-limit-up': options.uploadKiBps } : {})
  }, null, 1))
  await copyFile(options.torrentPath, join(watch, 'test.torrent'))
  const [file, args] = options.ns.command('transmission-daemon', ['-f', '-g', options.workDir])
  const child = spawnLogged(file, args, { logPath: join(options.workDir, 'transmission.log'), env: { ...process.env, HOME: options.workDir } })
  return started('transmission-daemon', options, child)
}

/**
 * Start rtorrent as a daemon inside `options.ns`, with
 * `protocol.encryption.set = require,require_RC4`;
 * it loads and starts the torrent at once, seeding what `dataDir` holds (after
 * its hash check) or downloading into it.
 *
 * @example
 * ```ts
 * const rt = await startRtorrent({ ns, torrentPath, dataDir, workDir })
 * t.after(() => rt.close())
 * ```
 */
export const startRtorrent = async (options: NetnsClientOptions): Promise<NetnsClient> => {
  const session = join(options.workDir, 'session')
  await mkdir(session, { recursive: true })
  await mkdir(options.dataDir, { recursive: true })
  const rc = join(options.workDir, 'rtorrent.rc')
  await writeFile(rc, [
    `directory.default.set = ${options.dataDir}`,
    `session.path.set = ${session}`,
    `network.port_range.set = ${NETNS_PEER_PORT}-${NETNS_PEER_PORT}`,
    'network.port_random.set = no',
    `network.bind_address.set = ${options.ns.innerAddress}`,
    'dht.mode.set = disable',
    'protocol.pex.set = no',
    'trackers.use_udp.set = no',
    'protocol.encryption.set = require,require_RC4',
    `log.open_file = detail, ${join(options.workDir, 'rtorrent-detail.log')}`,
    'log.add_output = info, detail',
    'system.daemon.set = true',
    ...(options.uploadKiBps !== undefined ? [`throttle.global_up.max_rate.set_kb = ${options.uploadKiBps}`] : []),
    `load.start_verbose = ${options.torrentPath}`,
    ''
  ].join('\n'))
  const [file, args] = options.ns.command('rtorrent', ['-n', '-o', `import=${rc}`])
  const child = spawnLogged(file, args, { logPath: join(options.workDir, 'rtorrent.log'), env: { ...process.env, HOME: options.workDir } })
  return started('rtorrent', options, child)
}
