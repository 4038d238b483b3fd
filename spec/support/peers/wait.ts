/** Small timing helpers for tests: bounded polling instead of fixed sleeps. */

/** Resolves after `ms` milliseconds. */
export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Thrown by a probe to make {@link pollUntil} give up at once instead of retrying. */
export class FatalPollError extends Error {}

/** Options of {@link pollUntil}. */
export interface PollOptions {
  readonly timeoutMs: number
  /** Pause between attempts (ms, default 100). */
  readonly intervalMs?: number
  /** Named in the timeout error. */
  readonly what?: string
  /** Extra text for the timeout error (e.g. a log tail), computed only on failure. */
  readonly explain?: () => string
}

/**
 * Calls `probe` until it returns something other than undefined/false and returns that;
 * rejects after `timeoutMs` (with the last error the probe threw, if any), or at once when the
 * probe throws a {@link FatalPollError}.
 *
 * @example
 * const info = await pollUntil(async () => (await qb.info(hash))?.progress === 1 || undefined,
 *   { timeoutMs: 30_000, what: 'qbittorrent download' })
 */
export async function pollUntil<T> (probe: () => Promise<T | undefined | false> | T | undefined | false, options: PollOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      if (err instanceof FatalPollError) throw err
      lastError = err
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      const extra = options.explain ? `\n${options.explain()}` : ''
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what ?? 'condition'}${cause}${extra}`)
    }
    await sleep(options.intervalMs ?? 100)
  }
}
