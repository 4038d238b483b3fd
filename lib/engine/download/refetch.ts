/**
 * Who re-downloads a piece that failed its hash check with several senders:
 * one of those senders, alone (the picker's `restrict`). If it lies, the piece
 * fails again with it as the only sender; if it is honest, the piece passes
 * and the smart-ban comparison of the recorded blocks names the liar. Either
 * way the second check decides.
 *
 * @internal
 * @module
 */

/**
 * The sender that gave the most bytes of the failed piece among those that can
 * still serve it (`usable`: connected, has the piece); ties go to the first.
 * The biggest contributor finishes the piece soonest; undefined when no sender
 * is usable (the piece then goes back to everyone).
 *
 * @example
 * ```ts
 * soleRefetcher(new Map([['a', 16384], ['b', 49152]]), () => true) // 'b'
 * ```
 */
export function soleRefetcher (senders: ReadonlyMap<string, number>, usable: (id: string) => boolean): string | undefined {
  let best: string | undefined
  let most = -1
  for (const [id, bytes] of senders) {
    if (bytes > most && usable(id)) {
      best = id
      most = bytes
    }
  }
  return best
}
