/**
 * The process-wide default service, Kamaelia's "one TorrentService per
 * process". It is lazy: no engine, socket or worker exists until the first
 * patron subscribes, and a fresh engine starts after the last one shut down.
 * Programs that want isolation (tests, several download folders) create their
 * own with {@link torrentService} instead.
 *
 * @module
 */
import { torrentClient } from './engine/client/client.ts'
import { sharedService } from './service/shared.ts'
import type { TorrentService } from './service/service.ts'

/**
 * The default shared service, running `torrentClient()` with its defaults
 * (random listen port, current directory as the default save folder).
 *
 * @example
 * ```ts
 * import { now } from '@most/core'
 * const feedback = torrentPatron(defaultService)(now(createNewTorrent(bytes)))
 * ```
 */
export const defaultService: TorrentService = sharedService(() => torrentClient())
