/**
 * What this process holds open: file descriptors (from /proc/self/fd, by kind)
 * and libuv handles (process.getActiveResourcesInfo()). Tests take a baseline
 * before a service starts and check that everything it opened is released
 * after its last patron left.
 */
import { readdirSync, readlinkSync } from 'node:fs'

/** File descriptors of this process by kind. */
export interface FdCounts {
  readonly total: number
  readonly sockets: number
  readonly files: number
  readonly pipes: number
  /** eventfd, epoll, timerfd, ... (libuv and worker threads' own). */
  readonly anon: number
  readonly other: number
  /** Target of every fd ("socket:[123]", "/tmp/x/a.bin", ...), for failure messages. */
  readonly targets: readonly string[]
}

/** A snapshot of what the process holds. */
export interface Resources {
  readonly fds: FdCounts
  /** Active libuv resources by type (TCPSocketWrap, TCPServerWrap, Timeout, FSReqCallback, ...). */
  readonly handles: Readonly<Record<string, number>>
}

/**
 * Count this process's open fds by kind. The fd used to read /proc/self/fd
 * itself is excluded (it is gone by the time readlink runs).
 *
 * @example
 * const before = countFds(); ...; assert.equal(countFds().sockets, before.sockets)
 */
export function countFds (): FdCounts {
  const targets: string[] = []
  let sockets = 0; let files = 0; let pipes = 0; let anon = 0; let other = 0
  for (const name of readdirSync('/proc/self/fd')) {
    let target: string
    try {
      target = readlinkSync(`/proc/self/fd/${name}`)
    } catch {
      continue // the directory listing's own fd, closed meanwhile
    }
    targets.push(target)
    if (target.startsWith('socket:')) sockets++
    else if (target.startsWith('pipe:')) pipes++
    else if (target.startsWith('anon_inode:')) anon++
    else if (target.startsWith('/')) files++
    else other++
  }
  return { total: targets.length, sockets, files, pipes, anon, other, targets }
}

/** Active libuv resources by type. @example activeHandles().TCPSocketWrap ?? 0 */
export function activeHandles (): Record<string, number> {
  const out: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1
  return out
}

/** fds and handles now. @example const base = resources() */
export function resources (): Resources {
  return { fds: countFds(), handles: activeHandles() }
}

/** Handle kinds that outlive nothing in particular: test-runner timers and in-flight fs requests come and go. */
const HANDLE_KINDS = ['TCPSocketWrap', 'TCPServerWrap', 'UDPWrap', 'Worker', 'FileHandle', 'PipeWrap', 'TTYWrap'] as const

/**
 * What `now` holds beyond `base`, as readable lines; empty when nothing is
 * left over. Fds are compared by target (a socket's inode, a file's path), so
 * a new socket is seen even if an old one closed meanwhile; handles are
 * compared by count for the kinds that belong to network, workers and files
 * (timers are not: the test runner keeps its own).
 *
 * @example
 * assert.deepEqual(leftOver(base, resources()), [])
 */
export function leftOver (base: Resources, now: Resources): string[] {
  const out: string[] = []
  const before = new Map<string, number>()
  for (const t of base.fds.targets) before.set(t, (before.get(t) ?? 0) + 1)
  const extra: string[] = []
  for (const t of now.fds.targets) {
    const n = before.get(t) ?? 0
    if (n > 0) before.set(t, n - 1)
    else extra.push(t)
  }
  if (extra.length > 0) out.push(`${extra.length} new fds: ${extra.slice(0, 20).join(', ')}`)
  for (const k of HANDLE_KINDS) {
    const a = base.handles[k] ?? 0
    const b = now.handles[k] ?? 0
    if (b > a) out.push(`${b - a} more ${k} handles (${a} -> ${b})`)
  }
  return out
}

/**
 * Poll until nothing is left over beyond `base` (resources are released
 * asynchronously after a dispose); returns what was still left at the
 * deadline, or [] once clean.
 *
 * @example
 * assert.deepEqual(await settleTo(base, 5000), [])
 */
export async function settleTo (base: Resources, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const left = leftOver(base, resources())
    if (left.length === 0 || Date.now() > deadline) return left
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
