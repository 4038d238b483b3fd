/**
 * `torrent-patron seed <path | file.torrent>`: share data until Ctrl-C.
 *
 * @module
 */
import { stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { createNewTorrent, type Feedback, type TorrentId } from '../lib/messages.ts'
import { isComplete, isFailed } from '../operators/completion.ts'
import { onePositional, parse, parsePeers, parsePort, portMappingWanted } from './args.ts'
import { mappingNews } from './port-mapping.ts'
import { CliError, reasonOf, usageError } from './errors.ts'
import { ensurePortFree, readTorrentFile, type TorrentFileInput } from './input.ts'
import { torrentForPath } from './seed-torrent.ts'
import { onInterrupt } from './interrupt.ts'
import { bytes, percent } from './ui/format.ts'

export const help = `Usage: torrent-patron seed <path | file.torrent> [options]

Share data until Ctrl-C. Given a file or folder, seed it from where it lies
with <path>.torrent beside it: kept when it describes the data, made (needs
--announce) when there is none; one that describes other data is replaced
only with --force. Given a .torrent, seed its data from --out.

Options:
  -o, --out DIR          folder holding the torrent's data (for a .torrent; default: .)
  -a, --announce URL     tracker URL for a new torrent (repeatable)
  -p, --peer HOST:PORT   also connect to this peer (repeatable)
      --port N           TCP port for incoming peers (default: any free port)
      --no-dht           do not announce on the DHT (it is on by default for
                         non-private torrents)
      --no-port-mapping  do not map the port on the router (PCP / NAT-PMP / UPnP, on
                         by default; TORRENT_PATRON_PORT_MAPPING=off also turns it off)
      --force            replace a <path>.torrent that describes other data
      --json             print each status update as one JSON line
  -h, --help             show this help`

/** The port asked for, checked free; any free one when none (or 0) was asked for. */
const freeOrAnyPort = async (port: number | undefined): Promise<number> => {
  if (port === undefined || port === 0) return anyFreePort()
  await ensurePortFree(port)
  return port
}

/** A free TCP port, so that we can tell users (and tests) where we listen. */
const anyFreePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const looksLikeTorrent = async (arg: string): Promise<boolean> => {
  if (!arg.toLowerCase().endsWith('.torrent')) return false
  const s = await stat(arg).catch(() => undefined)
  return s?.isFile() === true
}

/** Run `seed`; returns the exit code (0 after Ctrl-C). */
export const seed = async (argv: readonly string[]): Promise<number> => {
  const { values, positionals } = parse('seed', argv, {
    out: { type: 'string', short: 'o' },
    announce: { type: 'string', short: 'a', multiple: true },
    peer: { type: 'string', short: 'p', multiple: true },
    port: { type: 'string' },
    'no-dht': { type: 'boolean' },
    'no-port-mapping': { type: 'boolean' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help) {
    console.log(help)
    return 0
  }
  const arg = onePositional('seed', positionals, 'path or .torrent file')
  const peers = parsePeers('seed', values.peer)
  let port = parsePort('seed', values.port)
  let input: TorrentFileInput
  let folder: string
  let made: string | undefined
  if (await looksLikeTorrent(arg)) {
    input = await readTorrentFile(arg)
    folder = path.resolve(values.out ?? '.')
    port = await freeOrAnyPort(port)
  } else {
    const s = await stat(arg).catch((e: unknown) => {
      throw new CliError(`cannot read ${arg}: ${reasonOf(e)}`)
    })
    if (!s.isFile() && !s.isDirectory()) throw new CliError(`cannot seed ${arg}: not a file or folder`)
    // The port is checked before a .torrent is written: a failed check leaves nothing behind.
    port = await freeOrAnyPort(port)
    const source = path.resolve(arg)
    const found = await torrentForPath(source, { force: values.force === true, ...(values.announce === undefined ? {} : { announce: values.announce }) })
    made = found.how === 'made' ? `wrote ${found.file}` : `${found.file} matches the data: seeding it as it is`
    if (found.keptTrackers !== undefined) made += ` (with its trackers, ${found.keptTrackers.join(', ') || 'none'}; --force remakes it with --announce)`
    input = await readTorrentFile(found.file)
    folder = path.dirname(source)
  }

  // The engine, the patrons and the bars load only now, once every argument is checked.
  const [{ torrentClient, torrentService }, { runPatron }, { chooseView }] = await Promise.all([
    import('../lib/index.ts'),
    import('./patron-run.ts'),
    import('./ui/view.ts')
  ])
  const view = chooseView(values)
  const engine = torrentClient({ port, downloadFolder: folder, statusInterval: 500, ...(values['no-dht'] === true ? { dht: false } : {}), portMapping: portMappingWanted(values['no-port-mapping']) })
  const service = torrentService(engine)
  if (made !== undefined) view.note(made)
  view.note(`seeding ${input.meta.name} (${input.meta.infoHash}, ${bytes(input.meta.length)}) from ${folder}`)
  view.note(`listening on port ${port}; peers can connect to 127.0.0.1:${port}; Ctrl-C to stop`)

  return new Promise<number>((resolve, reject) => {
    let id: TorrentId | undefined
    let warned = false
    let settled = false
    const settle = (f: () => void) => {
      if (settled) return
      settled = true
      interrupt.off()
      patron.leave()
      view.stop()
      f()
    }
    const interrupt = onInterrupt(() =>
      settle(() => {
        view.result(`${input.meta.name}: stopped seeding`, { result: 'stopped', name: input.meta.name, torrentid: id ?? null })
        resolve(0)
      })
    )
    let mapping: string | undefined
    const patron = runPatron(service, {
      feedback: (m: Feedback) => {
        view.feedback(m)
        if (m.type === 'TorrentStartFail' || m.type === 'TorrentCommandRefused') {
          settle(() => reject(new CliError(`cannot seed ${input.meta.name}: ${m.reason}`)))
        } else if (m.type === 'NewTorrentCreated' || m.type === 'TorrentAlreadyDownloading') {
          id = m.torrentid
          view.add(id, input.meta.name)
        } else if (m.type === 'TorrentStatusUpdate' && m.torrentid === id) {
          const news = mappingNews(mapping, m.statsdictionary.portMapping)
          mapping = m.statsdictionary.portMapping
          if (news !== null) view.note(news)
          if (isFailed(m)) settle(() => reject(new CliError(`${input.meta.name}: ${m.statsdictionary.activity}`)))
          else if (!warned && m.statsdictionary.activity !== 'checking' && m.statsdictionary.activity !== 'starting' && !isComplete(m)) {
            warned = true
            view.note(
              `only ${percent(m.statsdictionary.fractionDone)} of ${input.meta.name} is in ${folder}: sharing that and fetching the rest`
            )
          }
        }
      },
      ended: (err) => settle(() => reject(new CliError(err?.message ?? 'the engine stopped')))
    })
    patron.send(createNewTorrent(input.bytes, { savefolder: folder, peers }))
  })
}
