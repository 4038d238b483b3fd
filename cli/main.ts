/**
 * The `torrent-patron` command line: dispatches to one module per command
 * and turns every failure into one line, `torrent-patron: <reason>`, with a
 * non-zero exit code. Never a stack trace.
 *
 * @module
 */
import { demo, help as demoHelp } from './demo.ts'
import { CliError, exitCodes, reasonOf } from './errors.ts'
import { get, help as getHelp } from './get.ts'
import { info, help as infoHelp } from './info.ts'
import { make, help as makeHelp } from './make.ts'
import { seed, help as seedHelp } from './seed.ts'

const commands: Record<string, { run: (argv: readonly string[]) => Promise<number>; help: string }> = {
  get: { run: get, help: getHelp },
  seed: { run: seed, help: seedHelp },
  make: { run: make, help: makeHelp },
  info: { run: info, help: infoHelp },
  demo: { run: demo, help: demoHelp }
}

const help = `Usage: torrent-patron <command> [options]

Download and share over BitTorrent, through composable @most/core streams.

Commands:
  get <file.torrent | magnet>   download, with a progress bar per torrent
  seed <path | file.torrent>    share a file or folder (makes the .torrent) or a torrent's data
  make <path> --announce URL    make a .torrent
  info <file.torrent | magnet>  show what a torrent holds
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
    console.log(topic !== undefined && commands[topic] !== undefined ? commands[topic].help : help)
    return 0
  }
  if (name === '--version' || name === '-v') {
    console.log('torrent-patron 0.1.0')
    return 0
  }
  const command = commands[name]
  if (command === undefined) throw new CliError(`unknown command "${name}" (see: torrent-patron --help)`, exitCodes.usage)
  return command.run(rest)
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
