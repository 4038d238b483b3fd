/**
 * Errors the CLI reports as one line, `torrent-patron: <reason>`. Anything
 * thrown that is not a CliError is reported the same way (its message only):
 * users never see a stack trace.
 *
 * @module
 */

/** Exit codes: 1 a failure, 2 a usage error (bad arguments), 130 interrupted (Ctrl-C). */
export const exitCodes = { failure: 1, usage: 2, interrupted: 130 } as const

/** A failure with a message meant for the user. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = exitCodes.failure
  ) {
    super(message)
    this.name = 'CliError'
  }
}

/** A usage error: points at the command's --help. */
export const usageError = (message: string, command?: string): CliError =>
  new CliError(`${message} (see: torrent-patron ${command === undefined ? '' : `${command} `}--help)`, exitCodes.usage)

const systemMessages: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EADDRINUSE: 'address already in use'
}

/** The user-facing text of anything thrown: a system error's code in words, or the message, on one line. */
export const reasonOf = (e: unknown): string => {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code
    const text = code !== undefined && systemMessages[code] !== undefined ? systemMessages[code] : e.message
    return text.split('\n')[0]!.trim() || e.name
  }
  return String(e).split('\n')[0]!
}
