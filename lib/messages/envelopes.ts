/**
 * The envelopes internal to the service: a patron joins, leaves, or passes a
 * command on; with their constructors and type guards.
 *
 * @module
 */

import { is } from './guard.ts'
import type { PatronId } from './ids.ts'
import type { Command } from './commands.ts'

/**
 * A patron joins the service.
 *
 * @example
 * ```ts
 * const joined: ServiceAdd = { type: 'ServiceAdd', patron: 1 } // or serviceAdd(1)
 * ```
 */
export interface ServiceAdd {
  /** Discriminant of the union. */
  readonly type: 'ServiceAdd'
  /** The patron concerned. */
  readonly patron: PatronId
}

/**
 * A patron leaves the service.
 *
 * @example
 * ```ts
 * const left: ServiceRemove = { type: 'ServiceRemove', patron: 1 } // or serviceRemove(1)
 * ```
 */
export interface ServiceRemove {
  /** Discriminant of the union. */
  readonly type: 'ServiceRemove'
  /** The patron concerned. */
  readonly patron: PatronId
}

/**
 * A patron's command, wrapped with the patron's identity.
 *
 * @example
 * ```ts
 * const wrapped: ServicePassOn = { type: 'ServicePassOn', patron: 1, message: closeTorrent('t1') }
 * ```
 */
export interface ServicePassOn {
  /** Discriminant of the union. */
  readonly type: 'ServicePassOn'
  /** The patron concerned. */
  readonly patron: PatronId
  /** The patron's command. */
  readonly message: Command
}

/**
 * The service's own inbox.
 *
 * @example
 * ```ts
 * const inbox: ServiceMessage[] = [serviceAdd(1), servicePassOn(1, createNewTorrent(torrentBytes)), serviceRemove(1)]
 * ```
 */
export type ServiceMessage = ServiceAdd | ServiceRemove | ServicePassOn

/**
 * Build a {@link ServiceAdd}.
 * @example
 * ```ts
 * serviceAdd(1)
 * ```
 */
export const serviceAdd = (patron: PatronId): ServiceAdd => ({ type: 'ServiceAdd', patron })

/**
 * Build a {@link ServiceRemove}.
 * @example
 * ```ts
 * serviceRemove(1)
 * ```
 */
export const serviceRemove = (patron: PatronId): ServiceRemove => ({ type: 'ServiceRemove', patron })

/**
 * Build a {@link ServicePassOn}.
 * @example
 * ```ts
 * servicePassOn(1, closeTorrent('t1'))
 * ```
 */
export const servicePassOn = (patron: PatronId, message: Command): ServicePassOn => ({
  type: 'ServicePassOn',
  patron,
  message
})

/**
 * True for a {@link ServiceAdd}.
 * @example
 * ```ts
 * isServiceAdd(serviceAdd(1)) // true
 * ```
 */
export const isServiceAdd = is<ServiceAdd>('ServiceAdd')

/**
 * True for a {@link ServiceRemove}.
 * @example
 * ```ts
 * isServiceRemove(serviceRemove(1)) // true
 * ```
 */
export const isServiceRemove = is<ServiceRemove>('ServiceRemove')

/**
 * True for a {@link ServicePassOn}.
 * @example
 * ```ts
 * if (isServicePassOn(m)) console.log(m.patron, m.message.type)
 * ```
 */
export const isServicePassOn = is<ServicePassOn>('ServicePassOn')
