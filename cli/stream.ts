/**
 * `torrent-patron stream <file.torrent | magnet>`: download a torrent and
 * serve its files over HTTP while it downloads (Range requests, so a video
 * player can seek); prints the URL and serves until Ctrl-C.
 *
 * @module
 */
import { createNewTorrent, type Feedback, type TorrentId } from '../lib/messages.ts'
import { isFailed } from '../operators/completion.ts'
import { onePositional, parse, parsePeers, parsePort, portMappingWanted } from './args.ts'
import { CliError, usageError } from './errors.ts'
import { ensureWritableFolder, readTorrentInput } from './input.ts'
import { onInterrupt } from './interrupt.ts'

export const help = `Usage: torrent-patron stream <file.torrent | magnet> [options]

Download a torrent and serve its files over HTTP while it downloads: the
pieces a player reads come first, and seeking works (Range requests). Prints
the URL of the file (or of the file list) and serves until Ctrl-C.

Options:
  -f, --file N|NAME      the file to play: its index (from 0) or its name
                         (default: the list of files)
      --port P           HTTP port (default: any free port)
      --host ADDR        HTTP address (default: 127.0.0.1, this machine only)
  -o, --out DIR          save folder (default: the current folder)
  -p, --peer HOST:PORT   also connect to this peer (repeatable)
      --no-dht           do not use the DHT to find peers
      --no-port-mapping  do not map the port on the router (PCP / NAT-PMP / UPnP, on
                         by default; TORRENT_PATRON_PORT_MAPPING=off also turns it off)
  -h, --help             show this help`

/** Run `stream`; resolves to the exit code once interrupted. */
export const stream = async (argv: readonly string[]): Promise<number> => {
  const { values, positionals } = parse('stream', argv, {
    file: { type: 'string', short: 'f' },
    port: { type: 'string' },
    host: { type: 'string' },
    out: { type: 'string', short: 'o' },
    peer: { type: 'string', short: 'p', multiple: true },
    'no-dht': { type: 'boolean' },
    'no-port-mapping': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    console.log(help)
    return 0
  }
  const input = await readTorrentInput(onePositional('stream', positionals, 'torrent file or magnet link'))
  const peers = parsePeers('stream', values.peer)
  const port = parsePort('stream', values.port) ?? 0
  if (values.file === '') throw usageError('--file wants an index or a name', 'stream')
  const savefolder = await ensureWritableFolder(values.out ?? '.')
  const [{ torrentClient, torrentService }, { runPatron }, { startStreamServer }, { servedTorrent }] = await Promise.all([
    import('../lib/index.ts'),
    import('./patron-run.ts'),
    import('../lib/stream/http-server.ts'),
    import('../lib/stream/serve-torrent.ts'),
  ])
  type Streams = NonNullable<ReturnType<import('../lib/index.ts').TorrentHandle['streams']>>
  const handles = new Map<TorrentId, import('../lib/index.ts').TorrentHandle>()
  const engine = torrentClient({ downloadFolder: savefolder, statusInterval: 1000, onTorrent: (id, h) => handles.set(id, h), ...(values['no-dht'] === true ? { dht: false } : {}), portMapping: portMappingWanted(values['no-port-mapping']) })
  const service = torrentService(engine)
  const name = input.kind === 'torrent' ? input.meta.name : (input.magnet.name ?? input.magnet.infoHash)

  return new Promise<number>((resolve, reject) => {
    let id: TorrentId | undefined
    let served: ReturnType<typeof servedTorrent> | undefined
    let srv: Awaited<ReturnType<typeof startStreamServer>> | undefined
    let announced = false
    let finished = false
    const finish = (err?: Error) => {
      if (finished) return
      finished = true
      interrupt.off()
      patron.leave()
      void (srv?.close() ?? Promise.resolve()).then(() => (err === undefined ? resolve(0) : reject(err)))
    }
    /** Once the torrent has files (at once for a .torrent, after the metadata for a magnet), say where to point a player. */
    const announce = (streams: Streams) => {
      if (announced || srv === undefined || served === undefined) return
      let target = `${srv.url}/${encodeURIComponent(id!)}/`
      if (values.file !== undefined) {
        let f
        try {
          f = streams.resolve(values.file)
        } catch (e) {
          return finish(new CliError((e as Error).message))
        }
        target = srv.fileUrl(served, f.index)
      }
      announced = true
      console.log(target)
    }
    const onFeedback = (m: Feedback) => {
      if (m.type === 'TorrentStartFail' || m.type === 'TorrentCommandRefused') return finish(new CliError(`${name}: ${m.reason}`))
      if (m.type === 'NewTorrentCreated' || m.type === 'TorrentAlreadyDownloading') {
        id = m.torrentid
        const handle = handles.get(id)
        if (handle === undefined) return finish(new CliError(`${name}: the engine gave no handle for torrent ${id}`))
        served = servedTorrent(id, name, {
          files: () => handle.streams()?.files() ?? [],
          createReadStream: (file, opts) => {
            const s = handle.streams()
            if (s === undefined) throw new Error('the torrent has no metadata yet')
            return s.createReadStream(file, opts)
          },
          fileProgress: () => handle.streams()?.fileProgress() ?? [],
        })
        const list = served
        void startStreamServer({ list: () => [list] }, { port, ...(values.host !== undefined ? { host: values.host } : {}) }).then(
          (s) => {
            srv = s
            const streams = handle.streams()
            if (streams !== undefined) announce(streams)
          },
          (e: Error) => finish(new CliError(`cannot serve on port ${port}: ${e.message}`)),
        )
        return
      }
      if (m.type === 'TorrentStatusUpdate' && m.torrentid === id) {
        if (isFailed(m)) return finish(new CliError(`${name}: ${m.statsdictionary.activity.replace(/^error:\s*/, '')}`))
        const streams = handles.get(id)?.streams()
        if (streams !== undefined) announce(streams)
      }
    }
    const interrupt = onInterrupt(() => finish())
    const patron = runPatron(service, { feedback: onFeedback, ended: (err) => finish(err ?? new CliError('the engine stopped')) })
    patron.send(createNewTorrent(input.kind === 'torrent' ? input.bytes : input.uri, { savefolder, peers }))
  })
}
