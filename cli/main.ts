/**
 * The `torrent-patron` command line: dispatches to one module per command
 * and turns every failure into one line, `torrent-patron: <reason>`, with a
 * non-zero exit code. Never a stack trace.
 *
 * @module
 */
import { CliError, exitCodes, reasonOf } from './errors.ts'

/** A command's module: its runner and its help text. */
interface CommandModule {
  run(argv: readonly string[]): Promise<number>
  readonly help: string
}

// Each command's module (and the engine behind it) loads only when that command runs:
// `--help` reads no more than this file and errors.ts; `--version` adds the uTP probe (lib/engine/wire/utp.ts), which does not load utp-native.
const commands: Record<string, () => Promise<CommandModule>> = {
  get: async () => {
    const m = await import('./get.ts')
    return { run: m.get, help: m.help }
  },
  seed: async () => {
    const m = await import('./seed.ts')
    return { run: m.seed, help: m.help }
  },
  make: async () => {
    const m = await import('./make.ts')
    return { run: m.make, help: m.help }
  },
  info: async () => {
    const m = await import('./info.ts')
    return { run: m.info, help: m.help }
  },
  demo: async () => {
    const m = await import('./demo.ts')
    return { run: m.demo, help: m.help }
  },
  stream: async () => ({ run: (await import('./stream.ts')).stream, help: (await import('./stream.ts')).help })
}

const help = `Usage: torrent-patron <command> [options]

Download and share over BitTorrent, through composable @most/core streams.

Commands:
  get <file.torrent | magnet>   download, with a progress bar per torrent
  seed <path | file.torrent>    share a file or folder (makes the .torrent) or a torrent's data
  make <path> --announce URL    make a .torrent
  info <file.torrent | magnet>  show what a torrent holds
  stream <file.torrent | magnet> serve the files over HTTP while they download (--file N|NAME, --port P)
  demo                          a local swarm: tracker, seeder and three downloaders, offline

Run 'torrent-patron <command> --help' for a command's options.`

const fail = (e: unknown): never => {
  process.stderr.write(`torrent-patron: ${reasonOf(e)}\n`)
  process.exit(e instanceof CliError ? e.exitCode : exitCodes.failure)
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export const main = async (argv: readonly string[]): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined
    const load = topic === undefined ? undefined : commands[topic]
    console.log(load === undefined ? help : (await load()).help)
    return 0
  }
  if (name === '--version' || name === '-v') {
    // Whether peers can be reached over uTP: what is installed, read from the disk (utp-native is loaded
    // only when an engine starts; its stats' `transport` then says what runs).
    const { utpInstalled } = await import('../lib/engine/wire/utp.ts')
    const utp = utpInstalled()
    console.log('torrent-patron 0.1.0')
    console.log(utp.available ? `uTP: utp-native installed (${utp.build} build)` : `uTP: unavailable (${utp.reason}); peers are reached over TCP only`)
    return 0
  }
  const load = commands[name]
  if (load === undefined) throw new CliError(`unknown command "${name}" (see: torrent-patron --help)`, exitCodes.usage)
  return (await load()).run(rest)
}

// Late failures (a socket error after the command returned) get the same one line.
process.on('uncaughtException', fail)
process.on('unhandledRejection', fail)

try {
  const code = await main(process.argv.slice(2))
  process.exitCode = code
  // Let sockets, files and workers close by themselves; force the exit if one hangs.
  setTimeout(() => process.exit(code), 5000).unref()
} catch (e) {
  fail(e)
}
