/**
 * A lockout attack on a listen port, from 127.0.0.1: `halfOpen` TCP
 * connections that never send a byte, and `silent` connections that send a
 * valid handshake for the torrent and then nothing at all (not even a
 * keep-alive). Every connection the other side closes is opened again after
 * `reopenMs`, for as long as the siege runs: the attacker holds as many slots
 * as the target lets it.
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { handshakeBytes, type HostileTarget } from './hostile-peer.ts'

/** Options of {@link startSiege}. */
export interface SiegeOptions {
  readonly port: number
  readonly target: HostileTarget
  /** Connections that never send anything. */
  readonly halfOpen: number
  /** Connections that handshake, then say nothing. */
  readonly silent: number
  /** Wait before opening a closed connection again (ms, default 100). */
  readonly reopenMs?: number
}

/** What the siege holds at a moment. */
export interface SiegeCounts {
  /** Half-open connections open now. */
  readonly halfOpen: number
  /** Silent connections open now whose handshake the target answered. */
  readonly silent: number
  /** Connections opened so far. */
  readonly opened: number
  /** Connections the target closed so far. */
  readonly closedByTarget: number
}

/** A running siege. */
export interface Siege {
  counts(): SiegeCounts
  /** Resolves once counts() satisfies `ok` (checked on every change); rejects after `timeoutMs`. */
  until(ok: (c: SiegeCounts) => boolean, timeoutMs: number, what: string): Promise<SiegeCounts>
  /** Stops reopening and closes every connection. Safe to call twice. */
  stop(): void
}

/**
 * @example
 * const siege = startSiege({ port, target, halfOpen: 256, silent: 50 })
 * t.after(() => siege.stop())
 * await siege.until((c) => c.silent === 50, 20_000, 'silent peers in')
 */
export const startSiege = (opts: SiegeOptions): Siege => {
  const reopenMs = opts.reopenMs ?? 100
  const sockets = new Set<Socket>()
  let halfOpen = 0
  let silent = 0
  let opened = 0
  let closedByTarget = 0
  let stopped = false
  const waiters = new Set<() => void>()
  const changed = (): void => {
    for (const w of [...waiters]) w()
  }

  const open = (kind: 'halfOpen' | 'silent'): void => {
    if (stopped) return
    const socket = connect({ host: '127.0.0.1', port: opts.port })
    sockets.add(socket)
    opened++
    let counted = false
    let answered = 0
    socket.on('connect', () => {
      if (kind === 'halfOpen') {
        halfOpen++
        counted = true
        changed()
      } else socket.write(handshakeBytes(opts.target.infoHash, randomBytes(20)))
    })
    socket.on('data', (d: Buffer) => {
      if (kind !== 'silent' || counted) return
      answered += d.length
      if (answered >= 68) {
        silent++
        counted = true
        changed()
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      sockets.delete(socket)
      if (counted) {
        if (kind === 'halfOpen') halfOpen--
        else silent--
      }
      if (!stopped) {
        closedByTarget++
        changed()
        setTimeout(() => open(kind), reopenMs).unref()
      }
    })
  }

  for (let i = 0; i < opts.silent; i++) open('silent')
  for (let i = 0; i < opts.halfOpen; i++) open('halfOpen')
  const counts = (): SiegeCounts => ({ halfOpen, silent, opened, closedByTarget })
  return {
    counts,
    until: (ok, timeoutMs, what) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!ok(counts())) return
          finish()
          resolve(counts())
        }
        const timer = setTimeout(() => {
          finish()
          reject(new Error(`siege: ${what} not reached in ${timeoutMs} ms: ${JSON.stringify(counts())}`))
        }, timeoutMs)
        const finish = (): void => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      }),
    stop: () => {
      stopped = true
      for (const s of sockets) s.destroy()
      sockets.clear()
    }
  }
}
