/**
 * A network namespace of a test's own, joined to the test process's
 * namespace by one veth pair: the test (and an in-process engine) binds the
 * host end's address, a real client started with {@link NetnsPeer.command}
 * runs inside with the other. Transmission and rtorrent misbehave on
 * 127.0.0.0/8 (Transmission drops such peers as "martian", rtorrent dials
 * itself), so they meet the engine on these addresses instead.
 *
 * Each pair is a /30 of the caller's documentation range: pair `index` gets
 * `<prefix>.(4i+1)` on the host end and `<prefix>.(4i+2)` inside. Nothing
 * outside the pair is ever addressed. {@link NetnsPeer.close} kills whatever
 * still runs inside and deletes the namespace (which takes the veth pair
 * with it); it also runs when the test process exits, and a namespace of
 * the same name left by a crashed run is removed before a new one is made.
 */
import { execFileSync } from 'node:child_process'
import { onProcessExit } from './peers/process.ts'

/** What {@link openNetns} makes. */
export interface NetnsSpec {
  /** The namespace's name (at most 10 characters, so the veth names fit in 15); prefix it with the helper's name. */
  readonly name: string
  /** The first three octets of the caller's /24, e.g. "192.0.2". */
  readonly prefix: string
  /** Which /30 of the /24 (0 to 63). */
  readonly index: number
}

/** A namespace that is up. */
export interface NetnsPeer {
  readonly name: string
  /** The host end's address (bind the engine or a tracker here). */
  readonly hostAddress: string
  /** The address inside the namespace. */
  readonly innerAddress: string
  /** `[file, args]` that run `file args` inside the namespace. */
  command(file: string, args: readonly string[]): [string, string[]]
  /** Kill what runs inside, delete the namespace and its veth pair. Idempotent. */
  close(): void
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

const exists = (name: string): boolean => ip('netns', 'list').split('\n').some((l) => l.split(' ')[0] === name)

/** Kill every process inside `name`, then delete it (nothing happens when it does not exist). */
export const dropNetns = (name: string): void => {
  if (!exists(name)) return
  try {
    for (const pid of ip('netns', 'pids', name).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL')
      } catch {
        // already gone
      }
    }
  } catch {
    // no pids to list
  }
  try {
    ip('netns', 'del', name)
  } catch {
    // deleted meanwhile
  }
}

/** Delete the host end of a veth pair, when it exists. */
const dropLink = (name: string): void => {
  if (!ip('-o', 'link', 'show').split('\n').some((l) => l.split(': ')[1]?.split('@')[0] === name)) return
  try {
    ip('link', 'del', name)
  } catch {
    // deleted meanwhile
  }
}

/**
 * Make the namespace `spec.name` with `lo` up and a veth pair to the test
 * process's namespace, addressed as the module comment says. Throws (after
 * undoing what it made) when `ip` refuses, e.g. without CAP_NET_ADMIN.
 *
 * @example
 * ```ts
 * const ns = openNetns({ name: 't15e-tr', prefix: '192.0.2', index: 1 })
 * t.after(() => ns.close())
 * const [file, args] = ns.command('transmission-daemon', ['-f', '-g', dir])
 * ```
 */
export const openNetns = (spec: NetnsSpec): NetnsPeer => {
  if (!/^[a-z0-9-]{1,10}$/.test(spec.name)) throw new Error(`namespace name ${spec.name}: 1 to 10 of a-z 0-9 -`)
  if (!Number.isInteger(spec.index) || spec.index < 0 || spec.index > 63) throw new Error(`pair index ${spec.index}: 0 to 63`)
  const hostAddress = `${spec.prefix}.${4 * spec.index + 1}`
  const innerAddress = `${spec.prefix}.${4 * spec.index + 2}`
  const outer = `${spec.name}-h`
  const inner = `${spec.name}-n`
  dropNetns(spec.name)
  dropLink(outer)
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    unregister()
    dropNetns(spec.name)
    // The pair goes with the namespace; this only matters when the namespace was never made.
    dropLink(outer)
  }
  const unregister = onProcessExit(close)
  try {
    ip('netns', 'add', spec.name)
    ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', spec.name)
    ip('addr', 'add', `${hostAddress}/30`, 'dev', outer)
    ip('link', 'set', outer, 'up')
    ip('-n', spec.name, 'link', 'set', 'lo', 'up')
    ip('-n', spec.name, 'addr', 'add', `${innerAddress}/30`, 'dev', inner)
    ip('-n', spec.name, 'link', 'set', inner, 'up')
  } catch (e) {
    close()
    const err = e as Error & { stderr?: string }
    throw new Error(`network namespace ${spec.name}: ${err.stderr?.trim() || err.message}`)
  }
  return {
    name: spec.name,
    hostAddress,
    innerAddress,
    command: (file, args) => ['ip', ['netns', 'exec', spec.name, file, ...args]],
    close
  }
}
