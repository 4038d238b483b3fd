/**
 * Operators for declarative torrent pipelines, in @most/core style: small,
 * curried, each a function from stream to stream. Select and measure
 * ({@link forTorrent}, {@link progress}, {@link rates}, {@link completion},
 * {@link errors}), drive ({@link downloadAll}, {@link closeAfter},
 * {@link feedbackLoop}, {@link closeTorrent}), sequence complete torrents
 * and files ({@link orderedChunks}, {@link completedFiles},
 * {@link orderedFiles}), and
 * bridge to other worlds (async iterables, Node streams and events; `most` 1.x
 * through its own entry point, `torrent-patron/most-legacy`, so that only its
 * users load `most`).
 *
 * @example
 * ```ts
 * import { runEffects, tap } from '@most/core'
 * import { newDefaultScheduler } from '@most/scheduler'
 * import { downloadAll, progress } from 'torrent-patron/operators'
 * const feedback = downloadAll(service, [torrentBytes])
 * await runEffects(tap((f: number) => console.log(f), progress(feedback)), newDefaultScheduler())
 * ```
 *
 * @module
 */
import type { Curried2 as PreludeCurried2, Curried3 as PreludeCurried3 } from '@most/prelude'

export { closeAfter, type SeedLimits } from './closeAfter.ts'
export { closeTorrent } from './commands.ts'
export { completion, isComplete, isFailed, TorrentFailedError } from './completion.ts'
export { createdIds } from './createdIds.ts'
export { downloadAll, type PatronSource, type TorrentSource } from './downloadAll.ts'
export { errors, type RefusedProblem, type StartFailProblem, type TorrentErrorProblem, type TorrentProblem } from './errors.ts'
export { feedbackLoop } from './feedbackLoop.ts'
export { forTorrent } from './forTorrent.ts'
export { fromAsyncIterable } from './fromAsyncIterable.ts'
export { fromEvent } from './fromEvent.ts'
export { fromReadable } from './fromReadable.ts'
export { orderedChunks, type OrderedChunk } from './orderedChunks.ts'
export { orderedFiles } from './orderedFiles.ts'
export { completedFiles, type CompletedFile } from './completedFiles.ts'
export { progress } from './progress.ts'
export { rates, type Rates } from './rates.ts'
export { statusUpdates } from './statusUpdates.ts'
export { toAsyncIterable } from './toAsyncIterable.ts'

/**
 * A two-argument operator that may also be applied one argument at a time
 * (@most/prelude's `Curried2`, which every operator here is built with).
 *
 * @example
 * ```ts
 * declare const f: Curried2<string, number, string>
 * f("a", 1) === f("a")(1)
 * ```
 */
export type Curried2<A, B, R> = PreludeCurried2<A, B, R>

/**
 * A three-argument operator that may also be applied one argument at a time (@most/prelude's `Curried3`).
 *
 * @example
 * ```ts
 * declare const f: Curried3<number, number, number, number>
 * f(1)(2)(3) === f(1, 2, 3)
 * ```
 */
export type Curried3<A, B, C, R> = PreludeCurried3<A, B, C, R>
export { seedPath } from './seedPath.ts'
