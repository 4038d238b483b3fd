/**
 * The CLI's line about the port mapping on the home router: said once the
 * first attempt is over, and again whenever what is mapped changes (the
 * `portMapping` of the stats, lib/engine/nat/port-mapper.ts).
 *
 * @module
 */

/**
 * The line to print when the mapping state went from `before` to `now`, or null.
 *
 * @example
 * ```ts
 * mappingNews('mapping', 'upnp: tcp 198.51.100.65:6881') // 'port mapping: upnp: tcp 198.51.100.65:6881'
 * mappingNews('off', 'off') // null
 * ```
 */
export const mappingNews = (before: string | undefined, now: string | undefined): string | null =>
  now === undefined || now === before || now === 'mapping' || now === 'off' || now === 'closed' ? null : `port mapping: ${now}`
