import cliProgress from 'cli-progress'
import { isTorrentStatusUpdate, type Feedback, type TorrentId } from '../../lib/messages.ts'
import { duration, fit, percent, rate } from './format.ts'
import { statusLine, type View } from './view.ts'

const STEPS = 1000

/** ` 1 peer ` / `12 peers`: the count and the word, one width for every count below 100. */
const peersText = (n: number): string => `${String(n).padStart(2)} ${n === 1 ? 'peer ' : 'peers'}`

/** Live bars on a terminal, one per torrent, drawn by cli-progress's MultiBar. */
export class BarsView implements View {
  private readonly multibar: cliProgress.MultiBar
  private readonly bars = new Map<TorrentId, { bar: cliProgress.SingleBar; label: string }>()
  private labelWidth = 8
  private stopped = false

  constructor(private readonly out: NodeJS.WritableStream) {
    this.multibar = new cliProgress.MultiBar(
      {
        stream: out,
        format: '{label} {bar} {pct} | down {down} | up {up} | {peers} | ETA {left} | {activity}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        fps: 10
      },
      cliProgress.Presets.shades_classic
    )
  }

  add(id: TorrentId, label: string): void {
    if (this.stopped || this.bars.has(id)) return
    this.labelWidth = Math.min(28, Math.max(this.labelWidth, label.length))
    const bar = this.multibar.create(STEPS, 0, {
      label: '',
      pct: percent(0).padStart(6),
      down: rate(0).padStart(11),
      up: rate(0).padStart(11),
      peers: peersText(0),
      left: '--'.padStart(6),
      activity: 'starting'
    })
    this.bars.set(id, { bar, label })
    // A wider label realigns every bar.
    for (const b of this.bars.values()) b.bar.update({ label: fit(b.label, this.labelWidth) })
  }

  feedback(m: Feedback): void {
    if (this.stopped || !isTorrentStatusUpdate(m)) return
    const entry = this.bars.get(m.torrentid)
    if (entry === undefined) return
    const s = statusLine(m)
    entry.bar.update(Math.round(s.fraction * STEPS), {
      pct: percent(s.fraction).padStart(6),
      down: rate(s.down).padStart(11),
      up: rate(s.up).padStart(11),
      peers: peersText(s.peers),
      left: duration(s.eta).padStart(6),
      activity: s.activity
    })
  }

  note(text: string): void {
    if (this.stopped) this.out.write(`${text}\n`)
    else this.multibar.log(`${text}\n`)
  }

  result(text: string): void {
    this.stop()
    this.out.write(`${text}\n`)
  }

  failure(): void {
    this.stop()
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    // The last frame stays on screen: rates and time left measured before the end would be stale there.
    for (const { bar } of this.bars.values()) bar.update({ down: '--'.padStart(11), up: '--'.padStart(11), left: '--'.padStart(6) })
    this.multibar.stop()
  }
}
