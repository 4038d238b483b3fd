/**
 * Runs an example of examples/ as its own process, the way a user would
 * (through tsx, DHT and port mapping off), and keeps what it writes.
 */
import { spawn, type ChildProcess } from 'node:child_process'

/** An example's process and what it wrote so far. */
export interface RunningExample {
  readonly child: ChildProcess
  /** Its standard output, chunk by chunk. */
  readonly out: Buffer[]
  /** Its standard error so far. */
  err(): string
}

/** Starts examples/`name` with `args`; killed when the test ends. */
export function runExample(t: { after(fn: () => unknown): void }, name: string, args: readonly string[]): RunningExample {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', `examples/${name}`, ...args], {
    env: { ...process.env, TORRENT_PATRON_DHT: 'off', TORRENT_PATRON_PORT_MAPPING: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.after(() => void child.kill('SIGKILL'))
  const out: Buffer[] = []
  let err = ''
  child.stdout!.on('data', (b: Buffer) => out.push(b))
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()))
  return { child, out, err: () => err }
}
