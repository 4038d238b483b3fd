/**
 * The real clients of the WAN benchmark, each run inside a host of the
 * topology: seeders of existing data (aria2c, Transmission, rtorrent,
 * libtorrent, this engine) and leechers (this engine, aria2c, libtorrent,
 * WebTorrent). Every one finds the others through the torrent's tracker,
 * with DHT, LSD, PEX and port mapping off so the swarm is exactly the
 * scenario's.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, copyFileSync, mkdirSync, openSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { join } from 'node:path'
import { benchDir } from '../lib/paths.ts'
import { engineChild } from '../lib/compiled.ts'
import { aria2LeechArgs } from '../lib/aria2.ts'
import { webtorrentLeech } from '../lib/webtorrent.ts'
import type { Host, Topology } from './topology.ts'

/** Clients that can seed in a scenario. */
export type SeederKind = 'aria2c' | 'transmission' | 'rtorrent' | 'libtorrent' | 'engine'
/** Clients that are compared as leechers. */
export type LeecherKind = 'engine' | 'aria2c' | 'libtorrent' | 'webtorrent'

/** A seeder that is up and serving. */
export interface RunningSeeder {
  readonly kind: SeederKind
  readonly host: Host
  stop(): Promise<void>
}

export const PEER_PORT = 6881
const libtorrentPeer = join(benchDir, 'wan', 'libtorrent-peer.py')

const inHost = (topo: Topology, host: Host, file: string, args: readonly string[], dir: string): ChildProcess => {
  const [cmd, ...rest] = topo.exec(host, file, args)
  // stdout is read for readiness lines; stderr goes to a log beside the client's files.
  const log = openSync(join(dir, 'stderr.log'), 'a')
  try {
    return spawn(cmd!, rest, { stdio: ['ignore', 'pipe', log], env: { ...process.env, HOME: dir } })
  } finally {
    closeSync(log)
  }
}

/** Poll `ss` inside the host until something listens on TCP `port`. */
const waitListening = async (host: Host, port: number, child: ChildProcess, timeoutMs: number): Promise<void> => {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited (${child.exitCode ?? child.signalCode})`)
    const out = execFileSync('ip', ['netns', 'exec', host.netns, 'ss', '-Hltn', `sport = :${port}`], { encoding: 'utf8' })
    if (out.trim() !== '') return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`not listening on ${port} after ${timeoutMs} ms`)
}

const waitLine = (child: ChildProcess, needle: string, timeoutMs: number): Promise<void> =>
  new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`no "${needle}" in ${timeoutMs} ms: ${seen.slice(-300)}`)), timeoutMs)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      seen += d
      if (seen.includes(needle)) { clearTimeout(timer); resolve() }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with ${code}: ${seen.slice(-300)}`)) })
  })

const stopper = (child: ChildProcess) => async (): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const kill = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await once(child, 'exit')
  clearTimeout(kill)
}

/** Transmission's settings: a seeder of `dataDir` on PEER_PORT, the torrent added through its watch folder. */
const transmissionConfig = (dir: string, dataDir: string, torrent: string): void => {
  const watch = join(dir, 'watch')
  mkdirSync(watch, { recursive: true })
  copyFileSync(torrent, join(watch, 'wan.torrent'))
  writeFileSync(join(dir, 'settings.json'), JSON.stringify({
    'download-dir': dataDir,
    'incomplete-dir-enabled': false,
    'peer-port': PEER_PORT,
    'peer-port-random-on-start': false,
    'port-forwarding-enabled': false,
    'dht-enabled': false,
    'lpd-enabled': false,
    'pex-enabled': false,
    'utp-enabled': false,
    'rpc-enabled': true,
    'rpc-bind-address': '127.0.0.1',
    'rpc-authentication-required': false,
    'rpc-whitelist-enabled': false,
    'watch-dir-enabled': true,
    'watch-dir': watch,
    'peer-limit-global': 500,
    'peer-limit-per-torrent': 200,
    'upload-slots-per-torrent': 50,
    'ratio-limit-enabled': false,
    'message-level': 1
  }, null, 1))
}

const rtorrentConfig = (dir: string, dataDir: string, torrent: string): string => {
  const session = join(dir, 'session')
  mkdirSync(session, { recursive: true })
  const rc = join(dir, 'rtorrent.rc')
  writeFileSync(rc, [
    `directory.default.set = ${dataDir}`,
    `session.path.set = ${session}`,
    `network.port_range.set = ${PEER_PORT}-${PEER_PORT}`,
    'network.port_random.set = no',
    'dht.mode.set = disable',
    'protocol.pex.set = no',
    'trackers.use_udp.set = no',
    'throttle.max_uploads.set = 100',
    'throttle.max_uploads.global.set = 200',
    'system.daemon.set = true',
    `load.start_verbose = ${torrent}`,
    ''
  ].join('\n'))
  return rc
}

/**
 * Start a `kind` seeder of the data in `dataDir` inside `host`, and wait
 * until it serves (a listening port, or the client's own "seeding" line).
 */
export async function startSeeder (topo: Topology, host: Host, kind: SeederKind, torrent: string, dataDir: string, workDir: string): Promise<RunningSeeder> {
  const dir = join(workDir, `seed-${host.name}`)
  mkdirSync(dir, { recursive: true })
  let child: ChildProcess
  let ready: Promise<void>
  switch (kind) {
    case 'aria2c':
      child = inHost(topo, host, 'aria2c', ['-d', dataDir, '--bt-seed-unverified=true', '--seed-ratio=0.0', `--listen-port=${PEER_PORT}`,
        '--file-allocation=none', '--bt-max-peers=0', '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false',
        '--enable-peer-exchange=false', '--console-log-level=warn', '--summary-interval=0', torrent], dir)
      ready = waitListening(host, PEER_PORT, child, 20_000)
      break
    case 'libtorrent':
      child = inHost(topo, host, '/usr/bin/python3', [libtorrentPeer, 'seed', torrent, dataDir, String(PEER_PORT)], dir)
      ready = waitLine(child, '"seeding"', 60_000)
      break
    case 'engine':
      child = inHost(topo, host, process.execPath, [...engineChild('seed-engine'), '--torrent', torrent, '--data', dataDir, '--port', String(PEER_PORT), '--host', '0.0.0.0'], dir)
      ready = waitLine(child, '"event":"seeding"', 60_000)
      break
    case 'transmission':
      transmissionConfig(dir, dataDir, torrent)
      child = inHost(topo, host, 'transmission-daemon', ['-f', '-g', dir], dir)
      ready = waitListening(host, PEER_PORT, child, 30_000)
      break
    case 'rtorrent':
      child = inHost(topo, host, 'rtorrent', ['-n', '-o', `import=${rtorrentConfig(dir, dataDir, torrent)}`], dir)
      ready = waitListening(host, PEER_PORT, child, 30_000)
      break
  }
  child.stdout!.resume()
  const stop = stopper(child)
  try {
    await ready
  } catch (e) {
    await stop()
    throw new Error(`${kind} seeder on ${host.name}: ${(e as Error).message}`)
  }
  return { kind, host, stop }
}

/** The command line of a `kind` leecher downloading `torrent` into `out` (run inside its host). */
export function leecherCommand (kind: LeecherKind, torrent: string, out: string, timeoutS: number): [string, string[]] {
  switch (kind) {
    case 'engine':
      return [process.execPath, [...engineChild('leech-engine'), '--torrent', torrent, '--out', out, '--host', '0.0.0.0', '--timeout-ms', String(timeoutS * 1000)]]
    case 'aria2c':
      return ['aria2c', aria2LeechArgs(torrent, out, PEER_PORT)]
    case 'libtorrent':
      return ['/usr/bin/python3', [libtorrentPeer, 'leech', torrent, out, String(PEER_PORT), String(timeoutS)]]
    case 'webtorrent':
      return [process.execPath, [webtorrentLeech, '--torrent', torrent, '--out', out, '--timeout-ms', String(timeoutS * 1000)]]
  }
}
