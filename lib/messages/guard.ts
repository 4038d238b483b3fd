/**
 * The one shape every TIPC type guard has: a plain object whose `type` is the
 * message's name.
 *
 * @module
 */

/** A type guard for the messages whose `type` is `type`. */
export const is =
  <T extends { type: string }>(type: T['type']) =>
  (m: unknown): m is T =>
    typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type
