/**
 * How the CLI shows torrents: the same calls drive three views, chosen by
 * {@link chooseView}: bars on a terminal, periodic plain lines otherwise,
 * and JSON lines for scripts.
 *
 * @module
 */
import type { Feedback, TorrentId, TorrentStatusUpdate } from '../../lib/messages.ts'
import { JsonView } from './json-view.ts'
import { PlainView } from './plain-view.ts'
import { BarsView } from './bars-view.ts'

/** What a command tells its view. */
export interface View {
  /** Start showing torrent `id` under `label`. */
  add(id: TorrentId, label: string): void
  /** Every feedback message the command receives (status updates included). */
  feedback(m: Feedback): void
  /** A line of information for people (not shown in JSON mode). */
  note(text: string): void
  /** The outcome, once: a sentence for people, the object as the last JSON line. */
  result(text: string, data: Record<string, unknown>): void
  /** A failure, once: only the JSON view prints it (as its last line); the error itself goes to stderr. */
  failure(data: Record<string, unknown>): void
  /** Stop drawing (restores the cursor). Idempotent. */
  stop(): void
}

export type ViewMode = 'bars' | 'plain' | 'json'

/** `json` when asked; bars on a terminal; plain lines otherwise. */
export const chooseView = (opts: { json?: boolean | undefined }, out: NodeJS.WriteStream = process.stdout): View => {
  const mode: ViewMode = opts.json ? 'json' : out.isTTY ? 'bars' : 'plain'
  return mode === 'json' ? new JsonView(out) : mode === 'bars' ? new BarsView(out) : new PlainView(out)
}

/** The one-line summary of a status update, shared by the plain view and the bars. */
export interface StatusLine {
  readonly fraction: number
  readonly activity: string
  readonly down: number
  readonly up: number
  readonly peers: number
  readonly eta: number | null
}

export const statusLine = (u: TorrentStatusUpdate): StatusLine => {
  const s = u.statsdictionary
  // A complete torrent fetches nothing: its smoothed download rate is only the echo of the last seconds.
  return { fraction: s.fractionDone, activity: s.activity, down: s.fractionDone >= 1 ? 0 : s.downRate, up: s.upRate, peers: s.numPeers, eta: s.timeEst }
}
