/**
 * A star of network namespaces joined by emulated WAN links: each host is a
 * namespace with one TAP device, and `wan-link` (link.c, compiled on first
 * use) switches frames between them with each host's own one-way delay,
 * loss and rate. This kernel has no netem, so delay and loss live in user
 * space; rates are enforced by the same process (serialisation at the link's
 * rate with a drop-tail queue), not by tc.
 *
 * Addresses come from 203.0.113.0/24 (TEST-NET-3): nothing outside the
 * topology's own namespaces is ever addressed. {@link Topology.close} kills
 * every process left in the namespaces, deletes them and stops the switch;
 * it also runs on process exit.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { once } from 'node:events'
import { join } from 'node:path'
import { benchDir, workDir } from '../lib/paths.ts'

/** One host of the star and its link to the switch. */
export interface HostSpec {
  /** Short name (letters, digits, dash; at most 8 characters). */
  readonly name: string
  /** One-way delay of the host's link, ms. A path's RTT is twice the sum of its two links' delays. */
  readonly delayMs: number
  /** Loss on each direction of the link, percent. */
  readonly lossPercent?: number
  /** Rate of each direction of the link, Mbit/s (0: unlimited). */
  readonly rateMbit: number
  /** Drop-tail queue of each direction, KiB (default: 256, or one RTT of data when larger). */
  readonly queueKiB?: number
}

/** A host once the topology is up. */
export interface Host extends HostSpec {
  /** The namespace's name. */
  readonly netns: string
  /** Its IPv4 address on the star. */
  readonly address: string
}

/** A running topology. */
export interface Topology {
  readonly hosts: readonly Host[]
  /** `ip netns exec <ns>` prefix for a command run inside a host. */
  exec(host: Host, file: string, args: readonly string[]): readonly string[]
  /** Kill what runs inside, delete the namespaces, stop the switch. Idempotent. */
  close(): Promise<void>
}

const PREFIX = 'wanb'
const SUBNET = '203.0.113'

/** The switch binary, built from link.c when missing or older than its source. */
export function linkBinary (): string {
  const src = join(benchDir, 'wan', 'link.c')
  const bin = join(workDir, 'wan-link')
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(workDir, { recursive: true })
    execFileSync('cc', ['-O2', '-Wall', '-o', bin, src], { stdio: 'inherit' })
  }
  return bin
}

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] }) }

const namespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(`${PREFIX}-`))

/** Kill every process inside the namespace, then delete it. */
function dropNamespace (ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)
    for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone */ } }
  } catch { /* namespace already gone */ }
  try { ip('netns', 'del', ns) } catch { /* already gone */ }
}

/** Remove namespaces a crashed earlier run left behind. */
export function sweepStale (): void {
  for (const ns of namespaces()) dropNamespace(ns)
}

/**
 * Bring up a star of `specs` (at most 60 hosts). Host i gets 203.0.113.(i+1).
 *
 * @example
 * ```ts
 * const topo = await startTopology([{ name: 'seed', delayMs: 25, rateMbit: 100 }, { name: 'leech', delayMs: 0, rateMbit: 1000 }])
 * try { ... } finally { await topo.close() }
 * ```
 */
export async function startTopology (specs: readonly HostSpec[]): Promise<Topology> {
  if (specs.length < 2 || specs.length > 60) throw new Error('a topology has 2 to 60 hosts')
  sweepStale()
  const hosts: Host[] = specs.map((s, i) => ({ ...s, netns: `${PREFIX}-${s.name}`, address: `${SUBNET}.${i + 1}` }))
  const ports = hosts.map((h, i) => {
    const rttBytes = (h.rateMbit * 1e6 / 8) * (4 * h.delayMs / 1000)
    const queue = h.queueKiB ?? Math.max(256, Math.ceil(rttBytes / 1024))
    return `${PREFIX}t${i}:${h.delayMs}:${h.lossPercent ?? 0}:${h.rateMbit}:${queue}`
  })
  const link: ChildProcess = spawn(linkBinary(), ['-s', '1', ...ports], { stdio: ['ignore', 'pipe', 'inherit'] })
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    process.off('exit', closeSync)
    for (const h of hosts) dropNamespace(h.netns)
    if (link.exitCode === null && link.signalCode === null) {
      link.kill('SIGTERM')
      await once(link, 'exit')
    }
  }
  const closeSync = (): void => {
    for (const h of hosts) dropNamespace(h.netns)
    link.kill('SIGKILL')
  }
  process.on('exit', closeSync)
  try {
    await new Promise<void>((resolve, reject) => {
      link.once('exit', (code) => reject(new Error(`wan-link exited with ${code}`)))
      link.stdout!.once('data', () => resolve())
    })
    hosts.forEach((h, i) => {
      ip('netns', 'add', h.netns)
      ip('link', 'set', `${PREFIX}t${i}`, 'netns', h.netns)
      ip('-n', h.netns, 'link', 'set', 'lo', 'up')
      ip('-n', h.netns, 'addr', 'add', `${h.address}/24`, 'dev', `${PREFIX}t${i}`)
      ip('-n', h.netns, 'link', 'set', `${PREFIX}t${i}`, 'up')
    })
  } catch (e) {
    await close()
    throw e
  }
  return {
    hosts,
    exec: (host, file, args) => ['ip', 'netns', 'exec', host.netns, file, ...args],
    close
  }
}
