import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { cp, open, readFile } from 'node:fs/promises'
import { WebSeedSource, type WebSeedHost } from '../../../lib/engine/download/web-seed-source.ts'
import { parseMetainfo } from '../../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../../lib/engine/contracts.ts'
import { startNginx } from '../../support/peers/nginx.ts'
import { makeRandomTree } from '../../support/peers/data.ts'
import { mktorrent } from '../../support/peers/mktorrent.ts'
import { makeTempDir } from '../../support/peers/tmp.ts'
import { within } from '../../support/discovery.ts'

/** A torrent's side of the bargain, as the engine keeps it: claims, hash checks, the assembled bytes. */
class Host implements WebSeedHost {
  readonly state: Array<'missing' | 'claimed' | 'have'>
  readonly data: Buffer
  readonly claims = new Map<string, number>()
  readonly warnings: string[] = []
  source: WebSeedSource | null = null
  readonly done: Promise<void>
  private finish!: () => void
  constructor (readonly m: Metainfo) {
    this.state = Array.from({ length: m.pieceCount }, () => 'missing')
    this.data = Buffer.alloc(m.length)
    this.done = new Promise((resolve) => { this.finish = resolve })
  }
  claim (source: string, max: number): { first: number; count: number } | null {
    const first = this.state.indexOf('missing')
    if (first < 0) return null
    let count = 0
    while (count < max && this.state[first + count] === 'missing') this.state[first + count++] = 'claimed'
    this.claims.set(source, (this.claims.get(source) ?? 0) + count)
    return { first, count }
  }
  unclaim (_source: string, first: number, count: number): void {
    for (let i = first; i < first + count; i++) if (this.state[i] === 'claimed') this.state[i] = 'missing'
  }
  async deliver (_source: string, piece: number, bytes: Buffer, judged: (ok: boolean | null, taken: number) => void): Promise<boolean> {
    const ok = createHash('sha1').update(bytes).digest().equals(Buffer.from(this.m.pieceHashes.subarray(piece * 20, piece * 20 + 20)))
    judged(ok, bytes.length)
    if (ok) {
      bytes.copy(this.data, piece * this.m.pieceLength)
      this.state[piece] = 'have'
      if (this.state.every((s) => s === 'have')) this.finish()
    } else {
      this.state[piece] = 'missing'
      queueMicrotask(() => this.source?.wake())
    }
    return ok
  }
  warn (source: string, message: string): void { this.warnings.push(`${source}: ${message}`) }
}

const fixture = async (t: { after: (fn: () => unknown) => void }) => {
  const web = await startNginx()
  t.after(() => web.close())
  const tmp = await makeTempDir('wss-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(web.root, 'good', 'payload'), { sizes: [300_000, 5, 700_001] })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  const m = parsed.value
  const expected = Buffer.concat(await Promise.all(m.files.map((f) => readFile(join(web.root, 'good', ...f.path)))))
  return { web, m, expected }
}

const run = async (t: { after: (fn: () => unknown) => void }, urls: string[], m: Metainfo, opts: ConstructorParameters<typeof WebSeedSource>[3] = {}) => {
  const host = new Host(m)
  const source = new WebSeedSource(urls, m, host, { baseMs: 50, ...opts })
  host.source = source
  t.after(() => source.stop())
  source.start()
  await within(host.done, 120_000, 'the download from web seeds')
  return { host, source }
}

test('a web seed alone downloads the whole torrent, in runs of whole pieces', async (t) => {
  const { web, m, expected } = await fixture(t)
  const { host, source } = await run(t, [`${web.base}good/`], m, { runBytes: 256 * 1024 })
  assert.ok(host.data.equals(expected))
  const [s] = source.stats()
  assert.equal(s!.downloaded, m.length)
  assert.equal(s!.discarded, 0)
  const requests = await web.requests()
  // runs of 8 pieces: at most (pieces / 8 + files) requests, far fewer than one per 16 KiB block
  assert.ok(requests.length <= Math.ceil(m.pieceCount / 8) + m.files.length, `${requests.length} requests`)
})

test('two web seeds work in parallel and their bytes are counted apart', async (t) => {
  const { web, m, expected } = await fixture(t)
  const { host, source } = await run(t, [`${web.base}good/`, `${web.base}moved/`], m, { runBytes: 32768, perSeed: 2 })
  assert.ok(host.data.equals(expected))
  const stats = source.stats()
  // nginx has no /moved/: that seed rests while the other does the work
  assert.equal(stats[0]!.downloaded, m.length)
  assert.equal(stats[1]!.downloaded, 0)
  assert.equal(stats[1]!.state === 'resting' || stats[1]!.state === 'active', true)
  assert.ok(host.warnings.some((w) => /moved\/: web seed resting: .*HTTP 404/.test(w)), host.warnings.join('\n'))
})

test('two honest web seeds both deliver', async (t) => {
  const { web, m, expected } = await fixture(t)
  await cp(join(web.root, 'good'), join(web.root, 'mirror'), { recursive: true })
  const { host, source } = await run(t, [`${web.base}good/`, `${web.base}mirror/`], m, { runBytes: 32768, perSeed: 2 })
  assert.ok(host.data.equals(expected))
  const [a, b] = source.stats()
  assert.ok(a!.downloaded > 0 && b!.downloaded > 0, JSON.stringify(source.stats()))
  assert.equal(a!.downloaded + b!.downloaded, m.length)
})

test('a web seed that lies in one piece is dropped; the honest one finishes the torrent', async (t) => {
  const { web, m, expected } = await fixture(t)
  await cp(join(web.root, 'good'), join(web.root, 'liar'), { recursive: true })
  // corrupt one byte of piece 0: the liar, listed first, claims it first
  const fh = await open(join(web.root, 'liar', ...m.files[0]!.path), 'r+')
  await fh.write(Buffer.from([expected[100]! ^ 0xff]), 0, 1, 100)
  await fh.close()
  const { host, source } = await run(t, [`${web.base}liar/`, `${web.base}good/`], m, { runBytes: 32768, perSeed: 2 })
  assert.ok(host.data.equals(expected))
  const [liar, good] = source.stats()
  assert.equal(liar!.state, 'dropped')
  assert.match(liar!.reason ?? '', /hash check/)
  assert.equal(liar!.discarded, m.pieceLength)
  assert.equal(liar!.downloaded + good!.downloaded, m.length)
  assert.ok(host.warnings.some((w) => /liar\/: web seed dropped/.test(w)))
})

test('stop aborts fetches in flight and gives their claims back', async (t) => {
  const { web, m } = await fixture(t)
  const host = new Host(m)
  const source = new WebSeedSource([`${web.base}good/`], m, host, { runBytes: 32768 })
  source.start()
  await source.stop()
  assert.ok(host.state.every((s) => s !== 'claimed'), host.state.join())
})
