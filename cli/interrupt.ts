/**
 * Ctrl-C for the long-running commands: the first SIGINT (or SIGTERM) asks
 * the command to finish cleanly; a second one exits at once.
 *
 * @module
 */

/** Resolves on the first SIGINT (Ctrl-C); a second one exits at once. `off()` removes the handler. */
export const onInterrupt = (f: () => void): { off(): void } => {
  let seen = false
  const handler = () => {
    if (seen) process.exit(130)
    seen = true
    f()
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return {
    off: () => {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    }
  }
}
