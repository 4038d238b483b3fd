import type { Feedback } from '../../lib/messages.ts'
import type { View } from './view.ts'

/** One JSON object per line: every feedback message as it is, then a `Summary` line. */
export class JsonView implements View {
  constructor(private readonly out: NodeJS.WritableStream) {}

  add(): void {}

  feedback(m: Feedback): void {
    this.write(m)
  }

  note(): void {}

  result(_text: string, data: Record<string, unknown>): void {
    this.write({ type: 'Summary', ...data })
  }

  failure(data: Record<string, unknown>): void {
    this.write({ type: 'Summary', ...data })
  }

  stop(): void {}

  private write(v: unknown): void {
    this.out.write(`${JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `<${x.length} bytes>` : x))}\n`)
  }
}
