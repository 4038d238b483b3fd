/**
 * The CLI's human-scale delays, each overridable by an environment variable
 * (in milliseconds) so that tests need not wait for them in real time.
 *
 * @module
 */

const fromEnv = (name: string, fallback: number): number => {
  const v = Number(process.env[name])
  return process.env[name] !== undefined && Number.isFinite(v) && v >= 0 ? v : fallback
}

/** How long `get` waits without any peer before it says which sources are off or empty (15 s). */
export const noPeerHintMs = (): number => fromEnv('TORRENT_PATRON_NO_PEER_HINT_MS', 15_000)

/** The longest plain (piped) output stays silent about a torrent whose status does not change (10 s). */
export const quietLineMs = (): number => fromEnv('TORRENT_PATRON_QUIET_LINE_MS', 10_000)
