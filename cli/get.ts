/**
 * `torrent-patron get <file.torrent | magnet>`: download through a patron,
 * showing progress, until complete and verified (or, with --seed, until Ctrl-C).
 *
 * @module
 */
import { createNewTorrent, type Feedback, type TorrentId } from '../lib/messages.ts'
import { isComplete, isFailed } from '../operators/completion.ts'
import { parse, parsePeers, parsePort } from './args.ts'
import { CliError, exitCodes, usageError } from './errors.ts'
import { ensurePortFree, ensureWritableFolder, readTorrentInput, type TorrentInput } from './input.ts'
import { onInterrupt } from './interrupt.ts'
import type { PatronHandlers, PatronRun } from './patron-run.ts'
import { bytes, duration, rate } from './ui/format.ts'
import type { View } from './ui/view.ts'

export const help = `Usage: torrent-patron get <file.torrent | magnet> [more ...] [options]

Download torrents (several at once: one patron each, on one engine). Exits 0
once every piece of every torrent is downloaded and verified.
Ctrl-C closes the torrent cleanly; verified data stays for a later resume.

Options:
  -o, --out DIR          save folder (default: the current folder)
  -p, --peer HOST:PORT   also connect to this peer (repeatable)
      --port N           TCP port for incoming peers (default: any free port)
      --seed             keep seeding after the download, until Ctrl-C
      --no-dht           do not use the DHT to find peers (it is on by default;
                         its routing table is kept in DIR/.torrent-patron/dht.json)
      --json             print each status update as one JSON line, then a Summary line
  -h, --help             show this help`

/** How a download ended. */
export interface Outcome {
  readonly result: 'complete' | 'interrupted' | 'failed'
  readonly reason?: string
  readonly torrentid?: TorrentId
  readonly name: string
  readonly savefolder: string
  readonly size?: number
  readonly seconds: number
}

const nameOf = (input: TorrentInput): string =>
  input.kind === 'torrent' ? input.meta.name : (input.magnet.name ?? input.magnet.infoHash)

/** Run the download of `input` on `service` until it settles; shows progress on `view`. */
export const download = (
  run: (handlers: PatronHandlers) => PatronRun,
  input: TorrentInput,
  opts: { savefolder: string; peers: readonly string[]; seed: boolean; signal?: AbortSignal },
  view: View
): Promise<Outcome> =>
  new Promise((resolve) => {
    const started = Date.now()
    let id: TorrentId | undefined
    let name = nameOf(input)
    // A magnet's size (and real name) is known once its metadata arrived: the status carries them.
    let size: number | undefined = input.kind === 'torrent' ? input.meta.length : undefined
    let complete = false
    let settled = false
    const base = () => ({
      name,
      savefolder: opts.savefolder,
      seconds: (Date.now() - started) / 1000,
      ...(id === undefined ? {} : { torrentid: id }),
      ...(size === undefined ? {} : { size })
    })
    const settle = (result: Outcome['result'], reason?: string) => {
      if (settled) return
      settled = true
      interrupt.off()
      // Leaving closes the torrent; the engine stops with its last patron and flushes its files.
      patron.leave()
      resolve({ result, ...base(), ...(reason === undefined ? {} : { reason }) })
    }
    const onFeedback = (m: Feedback) => {
      view.feedback(m)
      switch (m.type) {
        case 'TorrentStartFail':
          return settle('failed', m.reason)
        case 'NewTorrentCreated':
          // A reply for another torrent would mean the service mis-routed it: say so rather than show wrong data.
          if (m.infohash !== undefined && m.infohash !== (input.kind === 'torrent' ? input.meta.infoHash : input.magnet.infoHash)) {
            return settle('failed', `got the creation reply of another torrent (${m.infohash}): routing error`)
          }
          id = m.torrentid
          name = m.name ?? name
          view.add(id, name)
          return
        case 'TorrentAlreadyDownloading':
          id = m.torrentid
          view.add(id, name)
          return
        case 'TorrentCommandRefused':
          return settle('failed', m.reason)
        case 'TorrentStatusUpdate':
          if (m.torrentid !== id) return
          if (m.statsdictionary.size !== undefined) size = m.statsdictionary.size
          if (m.statsdictionary.name !== undefined && input.kind === 'magnet' && input.magnet.name === undefined) name = m.statsdictionary.name
          if (isFailed(m)) return settle('failed', m.statsdictionary.activity.replace(/^error:\s*/, ''))
          if (!complete && isComplete(m)) {
            complete = true
            if (!opts.seed) return settle('complete')
            view.note(`${name}: complete and verified; seeding until Ctrl-C`)
          }
      }
    }
    const interrupt = onInterrupt(() => settle(complete ? 'complete' : 'interrupted'))
    const patron = run({
      feedback: onFeedback,
      ended: (err) => settle(complete ? 'complete' : 'failed', err?.message ?? 'the engine stopped')
    })
    opts.signal?.addEventListener('abort', () => settle('failed', String(opts.signal?.reason ?? 'aborted')), { once: true })
    const raw = input.kind === 'torrent' ? input.bytes : input.uri
    patron.send(createNewTorrent(raw, { savefolder: opts.savefolder, peers: opts.peers }))
  })

/** The sentence and the exit code of an outcome. */
export const report = (o: Outcome, view: View): number => {
  const size = o.size === undefined ? '' : `${bytes(o.size)} `
  const data = { ...o }
  if (o.result === 'complete') {
    const speed = o.size === undefined || o.seconds === 0 ? '' : `, ${rate(o.size / o.seconds)}`
    view.result(`${o.name}: ${size}complete and verified in ${duration(o.seconds)}${speed}; saved in ${o.savefolder}`, data)
    return 0
  }
  if (o.result === 'interrupted') {
    view.result(`${o.name}: interrupted; verified data kept in ${o.savefolder} (run the same command to resume)`, data)
    return exitCodes.interrupted
  }
  view.failure(data)
  view.stop()
  throw new CliError(`${o.name}: ${o.reason ?? 'failed'}`)
}

/** Run `get`; returns the exit code. */
export const get = async (argv: readonly string[]): Promise<number> => {
  const { values, positionals } = parse('get', argv, {
    out: { type: 'string', short: 'o' },
    peer: { type: 'string', short: 'p', multiple: true },
    port: { type: 'string' },
    seed: { type: 'boolean' },
    'no-dht': { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help) {
    console.log(help)
    return 0
  }
  if (positionals.length === 0) throw usageError('missing torrent file or magnet link', 'get')
  const inputs = await Promise.all(positionals.map(readTorrentInput))
  const peers = parsePeers('get', values.peer)
  const port = parsePort('get', values.port)
  const savefolder = await ensureWritableFolder(values.out ?? '.')
  if (port !== undefined) await ensurePortFree(port)
  // DHT on unless --no-dht; without the flag the engine's default applies (TORRENT_PATRON_DHT=off turns it off).
  // The engine, the patrons and the bars load only now, once every argument is checked.
  const [{ torrentClient, torrentService }, { runPatron }, { chooseView }] = await Promise.all([
    import('../lib/index.ts'),
    import('./patron-run.ts'),
    import('./ui/view.ts')
  ])
  const engine = torrentClient({ port: port ?? 0, downloadFolder: savefolder, statusInterval: 500, ...(values['no-dht'] === true ? { dht: false } : {}) })
  const service = torrentService(engine)
  const view = chooseView(values)
  try {
    const outcomes = await Promise.all(
      inputs.map((input) => download((h) => runPatron(service, h), input, { savefolder, peers, seed: values.seed === true }, view))
    )
    // Report every torrent; fail with the first failure once all are told.
    let code = 0
    let failure: unknown
    for (const o of outcomes) {
      try {
        code = Math.max(code, report(o, view))
      } catch (e) {
        failure ??= e
      }
    }
    if (failure !== undefined) throw failure
    return code
  } finally {
    view.stop()
  }
}
