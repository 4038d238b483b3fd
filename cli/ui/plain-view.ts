import { isTorrentStatusUpdate, type Feedback, type TorrentId } from '../../lib/messages.ts'
import { duration, percent, rate } from './format.ts'
import { quietLineMs } from '../timing.ts'
import { statusLine, type View } from './view.ts'

/**
 * Plain lines for logs and pipes, no control characters. A torrent gets a
 * line at once when its activity changes, at most one a second (`every`) while
 * its progress or peer count moves, and one every `quiet` ms (10 s) while
 * nothing changes, so that a stuck download does not flood a log.
 */
export class PlainView implements View {
  private readonly labels = new Map<TorrentId, string>()
  private readonly last = new Map<TorrentId, { at: number; activity: string; shape: string }>()

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly every = 1000,
    private readonly quiet = quietLineMs()
  ) {}

  add(id: TorrentId, label: string): void {
    this.labels.set(id, label)
  }

  feedback(m: Feedback): void {
    if (!isTorrentStatusUpdate(m)) return
    const label = this.labels.get(m.torrentid)
    if (label === undefined) return
    const s = statusLine(m)
    const now = Date.now()
    const before = this.last.get(m.torrentid)
    // What a reader sees change: the percentage and the peers (rates wobble even when nothing moves).
    const shape = `${percent(s.fraction)} ${s.peers}`
    if (before !== undefined && before.activity === s.activity) {
      const since = now - before.at
      if (since < this.every || (before.shape === shape && since < this.quiet)) return
    }
    this.last.set(m.torrentid, { at: now, activity: s.activity, shape })
    this.out.write(
      `${label}: ${percent(s.fraction)} ${s.activity}, down ${rate(s.down)}, up ${rate(s.up)}, ${s.peers} peer${s.peers === 1 ? '' : 's'}, ETA ${duration(s.eta)}\n`
    )
  }

  note(text: string): void {
    this.out.write(`${text}\n`)
  }

  result(text: string): void {
    this.out.write(`${text}\n`)
  }

  failure(): void {}

  stop(): void {}
}
