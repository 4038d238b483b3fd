/**
 * Argument parsing on node:util parseArgs, with its errors turned into
 * one-line usage errors and small validators for the values we take.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { usageError } from './errors.ts'

type Options = NonNullable<ParseArgsConfig['options']>

/** What {@link parse} returns for `options`: node's parseArgs result, with positionals. */
export type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>

/** Parse `argv` for `command`; unknown options and missing values become usage errors. */
export const parse = <O extends Options>(command: string, argv: readonly string[], options: O): Parsed<O> => {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true })
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0]!.replace(/\.$/, '') : String(e)
    throw usageError(message.replace(/^Unknown option '([^']*)'.*$/, 'unknown option $1'), command)
  }
}

/** A TCP port 1..65535 (or 0 for "any"). */
export const parsePort = (command: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!/^\d+$/.test(text) || n > 65535) throw usageError(`--port wants a number from 0 to 65535, not "${text}"`, command)
  return n
}

/** `host:port` peers, checked for shape. */
export const parsePeers = (command: string, peers: readonly string[] | undefined): string[] => {
  const out: string[] = []
  for (const p of peers ?? []) {
    const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(p)
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) throw usageError(`--peer wants HOST:PORT, not "${p}"`, command)
    out.push(p)
  }
  return out
}

/** Exactly one positional argument, named `what` in the message when missing. */
export const onePositional = (command: string, positionals: readonly string[], what: string): string => {
  if (positionals.length === 0) throw usageError(`missing ${what}`, command)
  if (positionals.length > 1) throw usageError(`unexpected argument "${positionals[1]}"`, command)
  return positionals[0]!
}

/** A number of seconds above 0, or undefined when the option is absent. */
export const parseSeconds = (command: string, name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw usageError(`--${name} wants a number of seconds above 0, not "${text}"`, command)
  return n
}

/** The environment variable that turns the engine's DHT default off (the engine reads it too). */
export const DHT_ENV = 'TORRENT_PATRON_DHT'

/**
 * The environment variable that turns the CLI's port mapping off (`off`,
 * `false`, `0` or `no`): tests and CI set it, so no SSDP search nor PCP / NAT-PMP
 * request leaves for the host's real router.
 */
export const PORT_MAPPING_ENV = 'TORRENT_PATRON_PORT_MAPPING'

/** The CLI maps its port on the router (PCP / NAT-PMP / UPnP) unless `--no-port-mapping` or {@link PORT_MAPPING_ENV} says off. */
export const portMappingWanted = (noFlag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean =>
  noFlag !== true && !['off', 'false', '0', 'no'].includes(env[PORT_MAPPING_ENV]?.trim().toLowerCase() ?? '')

/** Whether {@link DHT_ENV} turns the DHT off for this run (`off`, `false`, `0` or `no`, as the engine reads it). */
export const dhtOffByEnvironment = (env: NodeJS.ProcessEnv = process.env): boolean =>
  ['off', 'false', '0', 'no'].includes(env[DHT_ENV]?.trim().toLowerCase() ?? '')
