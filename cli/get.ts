/**
 * `torrent-patron get <file.torrent | magnet>`: download through a patron,
 * showing progress, until complete and verified (or, with --seed, until Ctrl-C).
 *
 * @module
 */
import { createNewTorrent, type Feedback, type TorrentId, type TorrentStats } from '../lib/messages.ts'
import { isComplete, isFailed } from '../operators/completion.ts'
import { DHT_ENV, dhtOffByEnvironment, parse, parsePeers, parsePort, parseSeconds, portMappingWanted } from './args.ts'
import { CliError, exitCodes, usageError } from './errors.ts'
import { ensurePortFree, ensureWritableFolder, readTorrentInput, type TorrentInput } from './input.ts'
import { onInterrupt } from './interrupt.ts'
import { parseSelection, selectionPriorities, type SelectionPriorities } from './select.ts'
import type { PatronHandlers, PatronRun } from './patron-run.ts'
import { noPeerHint, type PeerSourcesSetup } from './peer-hint.ts'
import { mappingNews } from './port-mapping.ts'
import { noPeerHintMs } from './timing.ts'
import { bytes, duration, percent, rate } from './ui/format.ts'
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
      --no-port-mapping  do not map the port on the router (PCP / NAT-PMP / UPnP, on
                         by default; TORRENT_PATRON_PORT_MAPPING=off also turns it off)
      --only LIST        download only these files: comma-separated indices (from 0,
                         in the order info lists them) or names (path or base name,
                         * and ? as in a shell); a magnet takes indices only
      --skip LIST        download every file but these (same LIST)
      --timeout S        give up (exit 1) when not complete after S seconds
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
  /** Bytes verified once the start-up check ended (data from an earlier run); absent if it never ended. */
  readonly atStart?: number
  /** Bytes verified at the end. */
  readonly verified?: number
  /** Payload bytes fetched from peers, and the seconds from the end of the check to the end. */
  readonly fetched?: number
  readonly fetchSeconds?: number
}

/** Options of {@link download}. */
export interface DownloadOptions {
  readonly savefolder: string
  readonly peers: readonly string[]
  readonly seed: boolean
  readonly signal?: AbortSignal
  /** Give up when not complete after this many seconds. */
  readonly timeoutS?: number
  /** Say which peer sources are off or empty when no peer came for a while (not said without it). */
  readonly hint?: PeerSourcesSetup
  /** The files to download (`--only` / `--skip`), as priorities; absent: every file. */
  readonly selection?: SelectionPriorities
}

/** Activities before the download proper: the data on disk is not yet known. */
const beforeData = new Set(['starting', 'checking', 'fetching metadata'])

const nameOf = (input: TorrentInput): string =>
  input.kind === 'torrent' ? input.meta.name : (input.magnet.name ?? input.magnet.infoHash)

/** Run the download of `input` on `service` until it settles; shows progress on `view`. */
export const download = (
  run: (handlers: PatronHandlers) => PatronRun,
  input: TorrentInput,
  opts: DownloadOptions,
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
    let last: TorrentStats | undefined
    let checked: { at: number; verified: number } | undefined
    let sawPeer = false
    let hinted = false
    const hintAfter = noPeerHintMs()
    const verified = () => (last === undefined || size === undefined || beforeData.has(last.activity) ? 0 : Math.round(last.fractionDone * size))
    const base = () => ({
      name,
      savefolder: opts.savefolder,
      seconds: (Date.now() - started) / 1000,
      ...(id === undefined ? {} : { torrentid: id }),
      ...(size === undefined ? {} : { size }),
      ...(checked === undefined
        ? {}
        : { atStart: checked.verified, verified: verified(), fetched: last?.downTotal ?? 0, fetchSeconds: (Date.now() - checked.at) / 1000 })
    })
    const timer =
      opts.timeoutS === undefined
        ? undefined
        : setTimeout(() => settle('failed', `not complete after ${duration(opts.timeoutS!)} (--timeout)${last === undefined ? '' : ` at ${percent(beforeData.has(last.activity) ? 0 : last.fractionDone)}`}`), opts.timeoutS * 1000)
    const settle = (result: Outcome['result'], reason?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
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
          {
            const news = mappingNews(last?.portMapping, m.statsdictionary.portMapping)
            if (news !== null) view.note(news)
          }
          last = m.statsdictionary
          // With --only or --skip the figures are those of the chosen files.
          if (m.statsdictionary.size !== undefined) size = m.statsdictionary.wanted ?? m.statsdictionary.size
          if (checked === undefined && size !== undefined && !beforeData.has(last.activity)) {
            // The check of what is on disk is over: what it verified was there before this run.
            checked = { at: Date.now(), verified: Math.max(0, Math.round(last.fractionDone * size) - last.downTotal) }
          }
          if (last.numPeers > 0) sawPeer = true
          else if (!sawPeer && !hinted && opts.hint !== undefined && !isComplete(m) && Date.now() - started >= hintAfter) {
            hinted = true
            view.note(`${name}: no peer after ${duration(hintAfter / 1000)}: ${noPeerHint(input, last, opts.hint)}`)
          }
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
    patron.send(createNewTorrent(raw, { savefolder: opts.savefolder, peers: opts.peers, ...opts.selection }))
  })

/**
 * How a complete download went: the time and rate of what was fetched, and
 * how much an earlier run had left (the rate counts only this run's bytes).
 */
const completeSentence = (o: Outcome): string => {
  const atStart = o.atStart ?? 0
  if (o.size !== undefined && atStart >= o.size) return `already complete and verified (checked in ${duration(o.seconds)})`
  const fetched = o.fetched ?? o.size ?? 0
  const seconds = o.fetchSeconds ?? o.seconds
  const speed = seconds <= 0 || fetched === 0 ? '' : `, ${rate(fetched / seconds)}`
  if (atStart === 0) return `complete and verified in ${duration(o.seconds)}${speed}`
  return `complete and verified in ${duration(o.seconds)}: ${bytes(atStart)} already verified at the start, ${bytes(fetched)} fetched${speed}`
}

/** The sentence and the exit code of an outcome. */
export const report = (o: Outcome, view: View): number => {
  const size = o.size === undefined ? '' : `${bytes(o.size)} `
  const data = { ...o }
  if (o.result === 'complete') {
    view.result(`${o.name}: ${size}${completeSentence(o)}; saved in ${o.savefolder}`, data)
    return 0
  }
  if (o.result === 'interrupted') {
    const kept = o.verified ?? 0
    view.result(
      kept === 0
        ? `${o.name}: interrupted before any data was verified; nothing to resume`
        : `${o.name}: interrupted at ${percent(o.size === undefined ? 0 : kept / o.size)}; ${bytes(kept)} of verified data kept in ${o.savefolder} (run the same command to resume)`,
      data
    )
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
    'no-port-mapping': { type: 'boolean' },
    timeout: { type: 'string' },
    only: { type: 'string' },
    skip: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help) {
    console.log(help)
    return 0
  }
  if (positionals.length === 0) throw usageError('missing torrent file or magnet link', 'get')
  // Every check comes before anything is made: values, then inputs, then the port; the folder last.
  const peers = parsePeers('get', values.peer)
  const port = parsePort('get', values.port)
  const timeoutS = parseSeconds('get', 'timeout', values.timeout)
  const selection = parseSelection('get', values.only, values.skip)
  const inputs = await Promise.all(positionals.map(readTorrentInput))
  const selections = inputs.map((input) =>
    selection === undefined
      ? undefined
      : selectionPriorities('get', selection, input.kind === 'torrent' ? input.meta.files.filter((f) => !f.pad).map((f) => f.path) : undefined)
  )
  if (port !== undefined) await ensurePortFree(port)
  const savefolder = await ensureWritableFolder(values.out ?? '.')
  // DHT on unless --no-dht; without the flag the engine's default applies (TORRENT_PATRON_DHT=off turns it off).
  const dhtOffBy = values['no-dht'] === true ? '--no-dht' : dhtOffByEnvironment() ? `${DHT_ENV}=${process.env[DHT_ENV]}` : undefined
  const hint: PeerSourcesSetup = { peers, dhtOff: dhtOffBy !== undefined, dhtOffBy: dhtOffBy ?? '' }
  // The engine, the patrons and the bars load only now, once every argument is checked.
  const [{ torrentClient, torrentService }, { runPatron }, { chooseView }] = await Promise.all([
    import('../lib/index.ts'),
    import('./patron-run.ts'),
    import('./ui/view.ts')
  ])
  const engine = torrentClient({ port: port ?? 0, downloadFolder: savefolder, statusInterval: 500, ...(values['no-dht'] === true ? { dht: false } : {}), portMapping: portMappingWanted(values['no-port-mapping']) })
  const service = torrentService(engine)
  const view = chooseView(values)
  try {
    const outcomes = await Promise.all(
      inputs.map((input, i) => download(
          (h) => runPatron(service, h),
          input,
          { savefolder, peers, seed: values.seed === true, hint, ...(timeoutS === undefined ? {} : { timeoutS }), ...(selections[i] === undefined ? {} : { selection: selections[i] }) },
          view
        ))
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
