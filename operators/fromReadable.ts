import type { Stream } from '@most/types'
import type { Readable } from 'node:stream'
import { fromAsyncIterable } from './fromAsyncIterable.ts'

/**
 * A stream of the chunks of a Node Readable (objects, lines, small
 * messages). It reads through the Readable's async iterator, so it honours
 * the Readable's back pressure; disposing the stream destroys the Readable.
 * Keep bulk data off `@most/core` streams: use this for events, not file contents.
 *
 * @example
 * ```ts
 * import { createInterface } from 'node:readline'
 * import { Readable } from 'node:stream'
 * // one magnet URI per line of stdin -> one CreateNewTorrent each
 * const lines = Readable.from(createInterface({ input: process.stdin }))
 * const commands = map((uri: string) => createNewTorrent(uri), fromReadable<string>(lines))
 * ```
 */
export const fromReadable = <A = unknown>(readable: Readable): Stream<A> =>
  fromAsyncIterable(readable as AsyncIterable<A>)
