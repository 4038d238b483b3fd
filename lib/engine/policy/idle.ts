/**
 * The idle-peer rule: a connection where neither side is interested and the
 * peer has said nothing useful (no bitfield, no new have, no accepted block)
 * for a while only holds a connection slot, so it is closed. Keep-alives do
 * not count: a peer that sends only keep-alives forever is dropped by this
 * rule like a silent one.
 *
 * Pure: the torrent's tick feeds it the clock and the peer's state.
 *
 * @internal
 * @module
 */

/**
 * Default idle timeout (ms): 5 minutes, Mainline's `timeout` (300 s). libtorrent's
 * `inactivity_timeout` for "not interesting and not interested" peers is 600 s.
 */
export const PEER_IDLE_TIMEOUT = 5 * 60 * 1000

/** What the rule needs to know of one connection. */
export interface IdleView {
  /** We want something the peer has. */
  readonly amInterested: boolean
  /** The peer wants something we have. */
  readonly peerInterested: boolean
  /** Last time the peer sent something useful, or the connection was busy (ms since epoch). */
  readonly lastUsefulAt: number
}

/**
 * `busy` when either side is interested (the caller restarts the peer's idle
 * clock), `idle` once nothing useful came for longer than `timeout`, else `quiet`.
 *
 * @example
 * ```ts
 * const v = idleVerdict({ amInterested: false, peerInterested: false, lastUsefulAt: t0 }, t0 + 301_000, PEER_IDLE_TIMEOUT)
 * // v === 'idle'
 * ```
 */
export function idleVerdict (view: IdleView, now: number, timeout: number): 'busy' | 'idle' | 'quiet' {
  if (view.amInterested || view.peerInterested) return 'busy'
  return now - view.lastUsefulAt > timeout ? 'idle' : 'quiet'
}
