/**
 * The torrent service: one engine, many patrons, routed by map lookup.
 * See docs/design.md for the routing rules.
 *
 * @module
 */
export { torrentService } from './service.ts'
export type { Engine, PatronConnection, ServiceSnapshot, ServiceState, TorrentService } from './service.ts'
export { sharedService } from './shared.ts'
export { PushSource } from './push-source.ts'
export { Router } from './router.ts'
export type { Effect, EffectOut, PatronState, RouterSnapshot } from './router.ts'
