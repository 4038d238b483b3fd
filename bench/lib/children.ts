/**
 * Long-running children (seeders, qbittorrent-nox) die with the bench: an
 * interrupted or failed run must not leave peers seeding on loopback.
 */
import type { ChildProcess } from 'node:child_process'

const live = new Set<ChildProcess>()
let hooked = false

/** Kill `child` if this process exits first (normally, on error, or on SIGINT/SIGTERM). */
export const killOnExit = (child: ChildProcess): ChildProcess => {
  live.add(child)
  child.once('exit', () => live.delete(child))
  if (!hooked) {
    hooked = true
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL')
    })
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))
  }
  return child
}
