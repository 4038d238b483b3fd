/**
 * One patron of a service, driven imperatively by a command: send commands,
 * receive feedback through callbacks, leave. The CLI's commands are small
 * state machines; this keeps the stream plumbing out of them.
 *
 * @module
 */
import { newDefaultScheduler } from '@most/scheduler'
import type { Scheduler } from '@most/types'
import type { Command, Feedback } from '../lib/messages.ts'
import { torrentPatron } from '../lib/patron.ts'
import { PushSource, type TorrentService } from '../lib/service/index.ts'

export interface PatronRun {
  send(command: Command): void
  /** Leave the service: the patron's torrents close (verified data stays), the engine stops with its last patron. */
  leave(): void
}

export interface PatronHandlers {
  feedback(m: Feedback): void
  /** The patron's output ended (err: it failed). Not called after leave(). */
  ended(err?: Error): void
}

export const runPatron = (
  service: TorrentService,
  handlers: PatronHandlers,
  scheduler: Scheduler = newDefaultScheduler()
): PatronRun => {
  const commands = new PushSource<Command>()
  let left = false
  const subscription = torrentPatron(service, commands).run(
    {
      event: (_t, m) => {
        if (!left) handlers.feedback(m)
      },
      end: () => {
        if (!left) handlers.ended()
      },
      error: (_t, e) => {
        if (!left) handlers.ended(e)
      }
    },
    scheduler
  )
  return {
    send: (c) => {
      if (!left) commands.event(c)
    },
    leave: () => {
      if (left) return
      left = true
      subscription.dispose()
    }
  }
}
