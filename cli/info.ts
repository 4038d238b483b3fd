/**
 * `torrent-patron info <file.torrent | magnet>`: what a torrent holds.
 *
 * @module
 */
import { parse, onePositional } from './args.ts'
import { readAnyTorrentInput, type TorrentInput } from './input.ts'
import { bytes } from './ui/format.ts'
import type { Metainfo } from '../lib/engine/contracts.ts'

export const help = `Usage: torrent-patron info <file.torrent | magnet> [--json] [--scrape]

Print a torrent's name, BitTorrent version(s), info hashes, size (the files'
own bytes, pad files aside), pieces, files and trackers. v2 and hybrid torrents
(BEP 52) show both info hashes.

Options:
  --json      print the same as one JSON object
  --scrape    also ask each tracker for its seeders, leechers and completed
              downloads (HTTP BEP 48 and UDP BEP 15 scrapes, 10 s at most)
  -h, --help  show this help`

const describe = (input: TorrentInput): Record<string, unknown> => {
  if (input.kind === 'magnet') {
    const m = input.magnet
    return { kind: 'magnet', name: m.name ?? null, infohash: m.infoHash, infohashV2: m.infoHashV2 ?? null, trackers: m.announce, peers: m.peers, webSeeds: m.webSeeds ?? [] }
  }
  const m = input.meta
  return {
    kind: 'torrent',
    name: m.name,
    version: m.version ?? 'v1',
    infohash: m.infoHash,
    infohashV1: m.version === 'v2' ? null : m.infoHash,
    infohashV2: m.v2?.infoHash ?? null,
    size: realSize(m),
    pieceLength: m.pieceLength,
    pieces: m.pieceCount,
    private: m.private,
    files: m.files.filter((f) => !f.pad).map((f) => ({ path: f.path.join('/'), length: f.length })),
    trackers: m.announce,
    webSeeds: m.urlList
  }
}

const realSize = (m: Metainfo): number => m.fileBytes ?? m.files.reduce((n, f) => (f.pad ? n : n + f.length), 0)

const text = (input: TorrentInput): string => {
  const lines: string[] = []
  const row = (k: string, v: string) => lines.push(`${`${k}:`.padEnd(10)}${v}`)
  if (input.kind === 'magnet') {
    const m = input.magnet
    row('name', m.name ?? '(unknown until metadata arrives)')
    row('infohash', m.infoHash)
    if (m.infoHashV2 !== undefined) row('v2 hash', m.infoHashV2)
    row('trackers', m.announce.length === 0 ? '(none)' : m.announce.join('\n          '))
    if (m.peers.length > 0) row('peers', m.peers.join(', '))
    return lines.join('\n')
  }
  const m = input.meta
  const files = m.files.filter((f) => !f.pad)
  const size = realSize(m)
  row('name', m.name)
  row('version', m.version === 'hybrid' ? 'hybrid (v1 and v2)' : m.version ?? 'v1')
  row('infohash', m.version === 'v2' ? '(none: v2 only)' : m.infoHash)
  if (m.v2 !== undefined) row('v2 hash', m.v2.infoHash)
  row('size', `${bytes(size)} (${size} bytes)`)
  row('pieces', `${m.pieceCount} x ${bytes(m.pieceLength)}`)
  row('private', m.private ? 'yes' : 'no')
  row('trackers', m.announce.length === 0 ? '(none)' : m.announce.join('\n          '))
  if (m.urlList.length > 0) row('webseeds', m.urlList.join('\n          '))
  row('files', String(files.length))
  const width = Math.max(...files.map((f) => bytes(f.length).length))
  for (const f of files) lines.push(`  ${bytes(f.length).padStart(width)}  ${f.path.join('/')}`)
  return lines.join('\n')
}

type ScrapeRow = { url: string; complete: number; incomplete: number; downloaded: number } | { url: string; error: string }

/** Every tracker's counts, scraped in parallel; a tracker that fails gets its reason. */
const scrapeAll = async (input: TorrentInput): Promise<ScrapeRow[]> => {
  // Loaded only for --scrape: a plain `info` starts without any network code.
  const { scrape } = await import('../lib/engine/swarm/scrape.ts')
  const announce = input.kind === 'magnet' ? input.magnet.announce : input.meta.announce
  const hash = input.kind === 'magnet' ? Buffer.from(input.magnet.infoHash, 'hex') : input.meta.infoHashBytes
  return Promise.all(announce.map(async (url): Promise<ScrapeRow> => {
    try {
      return { url, ...(await scrape(url, hash, { timeoutMs: 10_000 })) }
    } catch (err) {
      return { url, error: (err as Error).message }
    }
  }))
}

const scrapeText = (rows: readonly ScrapeRow[]): string =>
  rows.length === 0
    ? 'scrape:   (no trackers)'
    : rows.map((r, i) => `${i === 0 ? 'scrape:   ' : '          '}${r.url}: ${'error' in r
      ? `failed: ${r.error}`
      : `${r.complete} seeders, ${r.incomplete} leechers, ${r.downloaded} completed`}`).join('\n')

/** Run `info`; returns the exit code. */
export const info = async (argv: readonly string[]): Promise<number> => {
  const { values, positionals } = parse('info', argv, {
    json: { type: 'boolean' },
    scrape: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' }
  })
  if (values.help) {
    console.log(help)
    return 0
  }
  const input = await readAnyTorrentInput(onePositional('info', positionals, 'torrent file or magnet link'))
  const rows = values.scrape ? await scrapeAll(input) : undefined
  if (values.json) console.log(JSON.stringify(rows ? { ...describe(input), scrape: rows } : describe(input)))
  else console.log(rows ? `${text(input)}\n${scrapeText(rows)}` : text(input))
  return 0
}
