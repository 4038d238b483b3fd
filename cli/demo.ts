/**
 * `torrent-patron demo`: a whole swarm on this machine, no internet needed.
 * A tracker (in process), a seeder engine with a few random files, and a
 * second engine whose service is shared by several patrons, each fetching
 * one torrent into its own folder; then a byte-for-byte check.
 *
 * @module
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { makeTorrent, parseMetainfo, torrentClient, torrentService } from '../lib/index.ts'
import { createNewTorrent, type Feedback, type TorrentId } from '../lib/messages.ts'
import { isComplete, isFailed } from '../operators/completion.ts'
import { parse } from './args.ts'
import { CliError, exitCodes, usageError } from './errors.ts'
import { download, type Outcome } from './get.ts'
import type { TorrentFileInput } from './input.ts'
import { onInterrupt } from './interrupt.ts'
import { runPatron, type PatronRun } from './patron-run.ts'
import { makeDataset, sameBytes } from './demo/dataset.ts'
import { startLocalTracker } from './demo/tracker.ts'
import { bytes, duration, rate } from './ui/format.ts'
import { chooseView, type View } from './ui/view.ts'

export const help = `Usage: torrent-patron demo [options]

Run a local swarm, offline: an in-process tracker on 127.0.0.1, a seeder
engine sharing freshly made random files, and a second engine whose one
service is shared by several patrons, each downloading one torrent into its
own folder. Checks every copy byte for byte, prints a summary, cleans up.

Options:
      --size MiB      total size of the data set (default: 24)
      --patrons N     number of patrons and files, 1 to 8 (default: 3)
      --timeout S     give up after S seconds (default: 120)
      --keep          keep the temporary folder (its path is printed)
      --json          print status updates and the summary as JSON lines
  -h, --help          show this help`

/** A view that prefixes each torrent's label with its patron's name. */
const labelled = (view: View, prefix: string): View => ({
  add: (id, label) => view.add(id, `${prefix} ${label}`),
  feedback: (m) => view.feedback(m),
  note: (t) => view.note(t),
  result: (t, d) => view.result(t, d),
  failure: (d) => view.failure(d),
  stop: () => view.stop()
})

const positiveNumber = (name: string, text: string | undefined, fallback: number, max: number): number => {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0 || n > max) throw usageError(`--${name} wants a number from 1 to ${max}, not "${text}"`, 'demo')
  return n
}

/**
 * The engines' `onStopped` hooks as promises: the temporary folder is removed
 * only once every engine has closed its torrents (their last resume records
 * would otherwise land in a folder being deleted).
 */
const engineStops = (): { onStopped: () => () => void; all: (boundMs: number) => Promise<void> } => {
  const stops: Promise<void>[] = []
  return {
    onStopped: () => {
      let done!: () => void
      stops.push(new Promise<void>((r) => (done = r)))
      return () => done()
    },
    all: (boundMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, boundMs)
        void Promise.all(stops).then(() => (clearTimeout(timer), resolve()))
      })
  }
}

/** Start seeding every torrent from `folder`; resolves once all of them seed. */
const startSeeder = (
  engineFolder: string,
  torrents: readonly Uint8Array[],
  signal: AbortSignal,
  onStopped: () => void
): Promise<{ patron: PatronRun }> =>
  new Promise((resolve, reject) => {
    const service = torrentService(torrentClient({ downloadFolder: engineFolder, statusInterval: 500, dht: false, onStopped }))
    const seeding = new Set<TorrentId>()
    let ready = false
    const fail = (reason: string) => {
      patron.leave()
      reject(new CliError(`demo seeder: ${reason}`))
    }
    const patron = runPatron(service, {
      feedback: (m: Feedback) => {
        if (m.type === 'TorrentStartFail' || m.type === 'TorrentCommandRefused') return fail(m.reason)
        if (m.type !== 'TorrentStatusUpdate') return
        if (isFailed(m)) return fail(m.statsdictionary.activity)
        if (isComplete(m)) seeding.add(m.torrentid)
        if (!ready && seeding.size === torrents.length) {
          ready = true
          resolve({ patron })
        }
      },
      ended: (err) => fail(err?.message ?? 'engine stopped')
    })
    signal.addEventListener('abort', () => fail(String(signal.reason)), { once: true })
    for (const t of torrents) patron.send(createNewTorrent(t, { savefolder: engineFolder }))
  })

/** Run `demo`; returns the exit code. */
export const demo = async (argv: readonly string[]): Promise<number> => {
  const { values, positionals } = parse('demo', argv, {
    size: { type: 'string' },
    patrons: { type: 'string' },
    timeout: { type: 'string' },
    keep: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help) {
    console.log(help)
    return 0
  }
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, 'demo')
  const total = Math.round(positiveNumber('size', values.size, 24, 4096) * 1024 * 1024)
  const count = Math.round(positiveNumber('patrons', values.patrons, 3, 8))
  const timeout = positiveNumber('timeout', values.timeout, 120, 86400)

  const view = chooseView(values)
  const abort = new AbortController()
  const interrupt = onInterrupt(() => abort.abort('interrupted'))
  const timer = setTimeout(() => abort.abort(`not done after ${timeout}s`), timeout * 1000)
  const cleanup: Array<() => Promise<unknown> | void> = []
  const root = await mkdtemp(path.join(tmpdir(), 'torrent-patron-demo-'))
  const stops = engineStops()
  cleanup.push(async () => {
    if (values.keep) return view.note(`kept ${root}`)
    await stops.all(15000)
    await rm(root, { recursive: true, force: true })
  })
  try {
    const tracker = await startLocalTracker()
    cleanup.push(() => tracker.close())
    view.note(`tracker: ${tracker.announce}`)

    const seedFolder = path.join(root, 'seed')
    await mkdir(seedFolder)
    const files = await makeDataset(seedFolder, total, count)
    const torrents = await Promise.all(files.map((f) => makeTorrent(f, { announce: tracker.announce })))
    const inputs: TorrentFileInput[] = []
    for (let i = 0; i < torrents.length; i++) {
      const parsed = await parseMetainfo(torrents[i]!)
      if (!parsed.ok) throw new CliError(`demo: made a bad torrent: ${parsed.reason}`)
      inputs.push({ kind: 'torrent', file: files[i]!, bytes: torrents[i]!, meta: parsed.value })
    }
    view.note(`data: ${count} files of random bytes, ${bytes(total)} in all, in ${seedFolder}`)

    const seeder = await startSeeder(seedFolder, torrents, abort.signal, stops.onStopped())
    cleanup.push(() => seeder.patron.leave())
    view.note(`seeder: engine 1 seeds ${count} torrents; engine 2 downloads them with ${count} patrons sharing one service`)

    const service = torrentService(torrentClient({ statusInterval: 250, dht: false, onStopped: stops.onStopped() }))
    const started = Date.now()
    const outcomes: Outcome[] = await Promise.all(
      inputs.map((input, i) =>
        download(
          (h) => runPatron(service, h),
          input,
          { savefolder: path.join(root, `patron-${i + 1}`), peers: [], seed: false, signal: abort.signal },
          labelled(view, `patron ${i + 1}:`)
        )
      )
    )
    const seconds = (Date.now() - started) / 1000
    view.stop()

    const failed = outcomes.find((o) => o.result !== 'complete')
    if (failed !== undefined) {
      if (failed.result === 'interrupted' || failed.reason === 'interrupted') throw new CliError('demo interrupted', exitCodes.interrupted)
      throw new CliError(`demo: ${failed.name}: ${failed.reason ?? failed.result}`)
    }
    const rows: string[] = []
    const checks: Array<{ name: string; patron: number; size: number; seconds: number; identical: boolean }> = []
    for (let i = 0; i < count; i++) {
      const o = outcomes[i]!
      const identical = await sameBytes(files[i]!, path.join(o.savefolder, inputs[i]!.meta.name))
      checks.push({ name: o.name, patron: i + 1, size: o.size ?? 0, seconds: o.seconds, identical })
      rows.push(
        `  patron ${i + 1}: ${o.name.padEnd(12)} ${bytes(o.size ?? 0).padStart(10)}  ${duration(o.seconds).padStart(5)}  ${rate((o.size ?? 0) / Math.max(o.seconds, 0.001)).padStart(12)}  ${identical ? 'identical' : 'DIFFERENT'}`
      )
    }
    const allSame = checks.every((c) => c.identical)
    const summary = [
      `demo: ${count} patrons on one service downloaded ${bytes(total)} from a local seeder in ${duration(seconds)} (${rate(total / Math.max(seconds, 0.001))})`,
      ...rows,
      allSame ? 'every copy matches its source byte for byte' : 'some copies differ from their source'
    ].join('\n')
    view.result(summary, {
      result: allSame ? 'complete' : 'mismatch',
      bytes: total,
      seconds,
      downloads: checks
    })
    if (!allSame) throw new CliError('demo: a downloaded copy differs from its source')
    return 0
  } finally {
    clearTimeout(timer)
    interrupt.off()
    view.stop()
    for (const f of cleanup.reverse()) await Promise.resolve(f()).catch(() => undefined)
  }
}
