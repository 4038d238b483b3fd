/**
 * `torrent-patron info <file.torrent | magnet>`: what a torrent holds.
 *
 * @module
 */
import { parse, onePositional } from './args.ts'
import { readTorrentInput, type TorrentInput } from './input.ts'
import { bytes } from './ui/format.ts'

export const help = `Usage: torrent-patron info <file.torrent | magnet> [--json]

Print a torrent's name, info hash, size, pieces, files and trackers.

Options:
  --json      print the same as one JSON object
  -h, --help  show this help`

const describe = (input: TorrentInput): Record<string, unknown> => {
  if (input.kind === 'magnet') {
    const m = input.magnet
    return { kind: 'magnet', name: m.name ?? null, infohash: m.infoHash, trackers: m.announce, peers: m.peers }
  }
  const m = input.meta
  return {
    kind: 'torrent',
    name: m.name,
    infohash: m.infoHash,
    size: m.length,
    pieceLength: m.pieceLength,
    pieces: m.pieceCount,
    private: m.private,
    files: m.files.filter((f) => !f.pad).map((f) => ({ path: f.path.join('/'), length: f.length })),
    trackers: m.announce,
    webSeeds: m.urlList
  }
}

const text = (input: TorrentInput): string => {
  const lines: string[] = []
  const row = (k: string, v: string) => lines.push(`${`${k}:`.padEnd(10)}${v}`)
  if (input.kind === 'magnet') {
    const m = input.magnet
    row('name', m.name ?? '(unknown until metadata arrives)')
    row('infohash', m.infoHash)
    row('trackers', m.announce.length === 0 ? '(none)' : m.announce.join('\n          '))
    if (m.peers.length > 0) row('peers', m.peers.join(', '))
    return lines.join('\n')
  }
  const m = input.meta
  const files = m.files.filter((f) => !f.pad)
  row('name', m.name)
  row('infohash', m.infoHash)
  row('size', `${bytes(m.length)} (${m.length} bytes)`)
  row('pieces', `${m.pieceCount} x ${bytes(m.pieceLength)}`)
  row('private', m.private ? 'yes' : 'no')
  row('trackers', m.announce.length === 0 ? '(none)' : m.announce.join('\n          '))
  if (m.urlList.length > 0) row('webseeds', m.urlList.join('\n          '))
  row('files', String(files.length))
  const width = Math.max(...files.map((f) => bytes(f.length).length))
  for (const f of files) lines.push(`  ${bytes(f.length).padStart(width)}  ${f.path.join('/')}`)
  return lines.join('\n')
}

/** Run `info`; returns the exit code. */
export const info = async (argv: readonly string[]): Promise<number> => {
  const { values, positionals } = parse('info', argv, {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help) {
    console.log(help)
    return 0
  }
  const input = await readTorrentInput(onePositional('info', positionals, 'torrent file or magnet link'))
  console.log(values.json ? JSON.stringify(describe(input)) : text(input))
  return 0
}
