/**
 * What Transmission (Debian's transmission-cli 3.00) makes of a .torrent, via `transmission-show`.
 * Transmission can't exchange data over loopback (it drops 127.0.0.0/8 peers), so it is only
 * used as an independent parser of metainfo.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Fields printed by transmission-show. Sizes are as printed (rounded, decimal units for totals). */
export interface TransmissionShow {
  readonly name: string
  /** Infohash, 40 lowercase hex digits. */
  readonly hash: string
  readonly pieceCount: number
  /** Piece size in bytes, when printed in an exact binary unit (KiB/MiB), else NaN. */
  readonly pieceSize: number
  readonly pieceSizeText: string
  readonly totalSizeText: string
  readonly private: boolean
  readonly comment?: string
  /** Announce tiers, in order. */
  readonly trackers: readonly (readonly string[])[]
  /** File paths as listed (they include the torrent name as first component for multi-file). */
  readonly files: readonly string[]
  /** The full output, for anything else. */
  readonly raw: string
}

const UNITS: Record<string, number> = { B: 1, bytes: 1, KiB: 1024, MiB: 1 << 20, GiB: 1 << 30 }

function parseBinarySize (text: string): number {
  const m = /^([\d.]+)\s*(\S+)$/.exec(text.trim())
  if (m === null) return NaN
  const unit = UNITS[m[2]!]
  return unit === undefined ? NaN : Math.round(Number(m[1]) * unit)
}

/**
 * Runs `transmission-show` on a .torrent and parses its report. Rejects if Transmission
 * cannot parse the torrent (its exit code is non-zero).
 *
 * @example
 * const shown = await transmissionShow(torrentPath)
 * assert.equal(shown.hash, parsed.infoHash)
 */
export async function transmissionShow (torrentPath: string): Promise<TransmissionShow> {
  let raw: string
  try {
    raw = (await run('transmission-show', [torrentPath], { timeout: 30_000 })).stdout
  } catch (err) {
    const e = err as { stderr?: string, stdout?: string, message: string }
    throw new Error(`transmission-show rejected ${torrentPath}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`)
  }
  const field = (label: string): string | undefined => {
    const m = new RegExp(`^  ${label}: (.*)$`, 'm').exec(raw)
    return m?.[1]?.trim()
  }
  const section = (title: string): string[] => {
    const lines = raw.split('\n')
    const start = lines.indexOf(title)
    if (start < 0) return []
    const out: string[] = []
    for (const line of lines.slice(start + 1)) {
      if (/^[A-Z]+$/.test(line)) break
      out.push(line)
    }
    return out
  }
  const trackers: string[][] = []
  for (const line of section('TRACKERS')) {
    if (/^\s*Tier #\d+/.test(line)) trackers.push([])
    else if (line.trim() !== '') (trackers[trackers.length - 1] ?? (trackers[0] = [])).push(line.trim())
  }
  const files = section('FILES')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => line.replace(/ \([^()]*\)$/, ''))
  const pieceSizeText = field('Piece Size') ?? ''
  const comment = field('Comment')
  const hash = (field('Hash') ?? '').toLowerCase()
  if (!/^[0-9a-f]{40}$/.test(hash)) throw new Error(`transmission-show printed no infohash for ${torrentPath}:\n${raw}`)
  return {
    name: field('Name') ?? '',
    hash,
    pieceCount: Number(field('Piece Count') ?? NaN),
    pieceSize: parseBinarySize(pieceSizeText),
    pieceSizeText,
    totalSizeText: field('Total Size') ?? '',
    private: (field('Privacy') ?? '').toLowerCase().startsWith('private'),
    ...(comment !== undefined ? { comment } : {}),
    trackers,
    files,
    raw
  }
}
