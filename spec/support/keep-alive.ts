/**
 * Tracker clients' timers are unreferenced (they must not keep an app alive):
 * a test waiting on them holds the event loop open with this until it ends.
 */

/**
 * @example
 * test('...', async (t) => { keepAlive(t); ... })
 */
export const keepAlive = (t: { after(fn: () => unknown): void }): void => {
  const timer = setInterval(() => {}, 1000)
  t.after(() => clearInterval(timer))
}
