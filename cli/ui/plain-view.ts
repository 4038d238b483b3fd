import { isTorrentStatusUpdate, type Feedback, type TorrentId } from '../../lib/messages.ts'
import { duration, percent, rate } from './format.ts'
import { statusLine, type View } from './view.ts'

/**
 * Plain lines for logs and pipes: one line per torrent every `every` ms,
 * and at once when its activity changes. No control characters.
 */
export class PlainView implements View {
  private readonly labels = new Map<TorrentId, string>()
  private readonly last = new Map<TorrentId, { at: number; activity: string }>()

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly every = 1000
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
    if (before !== undefined && before.activity === s.activity && now - before.at < this.every) return
    this.last.set(m.torrentid, { at: now, activity: s.activity })
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
