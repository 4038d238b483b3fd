/**
 * Kamaelia's "one service per process", without a hidden global: the caller
 * holds the shared handle, and tests can make their own.
 *
 * @module
 */
import type { Engine, ServiceSnapshot, ServiceState, TorrentService } from './service.ts'
import { torrentService } from './service.ts'

const emptySnapshot: ServiceSnapshot = Object.freeze({
  state: 'idle',
  engineRuns: 0,
  sinks: 0,
  queuedEffects: 0,
  patrons: 0,
  pending: 0,
  livePending: 0,
  torrents: 0,
  closing: 0,
  owners: Object.freeze({})
})

/**
 * A service handle that always leads to a live service: the first patron
 * lazily creates one with `makeEngine()`; once that one has shut down (its
 * last patron left) or while it is shutting down, the next patron gets a
 * fresh one with a fresh engine. So a patron arriving during a shutdown never
 * joins a dead service (bug 6 of the original).
 *
 * @example
 * ```ts
 * // once, at module level of a program
 * export const shared = sharedService(() => torrentClient({ folder: 'downloads' }))
 * // anywhere
 * const out = torrentPatron(shared, commands)
 * ```
 */
export const sharedService = (makeEngine: () => Engine): TorrentService => {
  let current: TorrentService | undefined
  return {
    connect(sink, scheduler) {
      if (current === undefined || current.state !== 'running') current = torrentService(makeEngine())
      return current.connect(sink, scheduler)
    },
    get state(): ServiceState {
      return current?.state ?? 'idle'
    },
    inspect: () => current?.inspect() ?? emptySnapshot
  }
}
