import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { mkdir, writeFile, readFile, rename } from 'node:fs/promises'
import { WebSeed, WebSeedError } from '../../../lib/engine/download/web-seed.ts'
import { fileSpans, fileUrl, type WebSeedLayout } from '../../../lib/engine/download/web-seed-layout.ts'
import { parseMetainfo } from '../../../lib/engine/metainfo/index.ts'
import type { Metainfo } from '../../../lib/engine/contracts.ts'
import { startNginx, type Nginx } from '../../support/peers/nginx.ts'
import { makeRandomTree, writeRandomFile } from '../../support/peers/data.ts'
import { mktorrent } from '../../support/peers/mktorrent.ts'
import { makeTempDir } from '../../support/peers/tmp.ts'

const layoutOf = (files: Array<[string[], number, boolean?]>, pieceLength: number, name = files[0]![0][0]!): WebSeedLayout => {
  let offset = 0
  const entries = files.map(([path, length, pad]) => {
    const e = { path, length, offset, pad: pad ?? false }
    offset += length
    return e
  })
  return { name, files: entries, pieceLength, pieceCount: Math.ceil(offset / pieceLength), length: offset }
}

const pieceOk = (m: Metainfo, index: number, bytes: Uint8Array): boolean =>
  createHash('sha1').update(bytes).digest().equals(Buffer.from(m.pieceHashes.subarray(index * 20, index * 20 + 20)))

const checkRun = (m: Metainfo, first: number, run: Buffer): void => {
  for (let i = 0; i * m.pieceLength < run.length; i++)
    assert.ok(pieceOk(m, first + i, run.subarray(i * m.pieceLength, (i + 1) * m.pieceLength)), `piece ${first + i}`)
}

test('file spans: a run maps onto the files it touches; pad files are marked', () => {
  const l = layoutOf([[['t', 'a'], 10], [['t', '.pad', '6'], 6, true], [['t', 'b'], 20]], 8)
  assert.deepEqual(fileSpans(l, 1, 1), [
    { file: 0, fileOffset: 8, length: 2, runOffset: 0, pad: false },
    { file: 1, fileOffset: 0, length: 6, runOffset: 2, pad: true }
  ])
  assert.deepEqual(fileSpans(l, 2, 3), [{ file: 2, fileOffset: 0, length: 20, runOffset: 0, pad: false }])
  assert.throws(() => fileSpans(l, 4, 2), /not in a torrent of 5 pieces/)
})

test('file URLs: single-file and multi-file layouts, percent-encoded', () => {
  const single = layoutOf([[['movie one.mkv'], 5]], 16384)
  assert.equal(fileUrl('http://h/x/movie.mkv', single, 0), 'http://h/x/movie.mkv')
  assert.equal(fileUrl('http://h/x/', single, 0), 'http://h/x/movie%20one.mkv')
  const multi = layoutOf([[['My Album', 'cd 1', '01#?.flac'], 5], [['My Album', 'b'], 5]], 16384)
  assert.equal(fileUrl('http://h/seed/', multi, 0), 'http://h/seed/My%20Album/cd%201/01%23%3F.flac')
  assert.equal(fileUrl('http://h/seed', multi, 1), 'http://h/seed/My%20Album/b')
  assert.equal(fileUrl('https://h:8443/s/?k=v', multi, 1), 'https://h:8443/s/My%20Album/b?k=v')
})

test('path traversal in a web seed file name is refused', () => {
  for (const bad of [['t', '..', 'etc', 'passwd'], ['t', '.', 'x'], ['..'], ['t', 'a/../../b'], ['t', 'a\\..\\b'], ['t', 'nul\0'], ['t', 'C:evil'], ['t', '']]) {
    const l = layoutOf([[bad, 5], [['t', 'ok'], 5]], 16384, 't')
    assert.throws(() => fileUrl('http://h/seed/', l, 0), /unsafe path component/, JSON.stringify(bad))
  }
  assert.throws(() => fileUrl('ftp://h/seed/', layoutOf([[['t', 'ok'], 5], [['t', 'b'], 1]], 16384), 0), /only http and https/)
})

test('path traversal: fetchPieces refuses before any request is made', async (t) => {
  const web = await startNginx()
  t.after(() => web.close())
  const l = layoutOf([[['t', '..', 'secret'], 5], [['t', 'ok'], 5]], 16384, 't')
  const seed = new WebSeed(web.base, l)
  t.after(() => seed.close())
  await assert.rejects(seed.fetchPieces(0, 1), (e: WebSeedError) => e.kind === 'refused')
  assert.equal((await web.requests()).length, 0)
})

interface Fixture { web: Nginx; metainfo: Metainfo; name: string }

const multiFileFixture = async (t: { after: (fn: () => unknown) => void }, https = false): Promise<Fixture> => {
  const web = await startNginx({
    https,
    extra: [
      'location ^~ /moved/ { rewrite ^/moved/(.*)$ /$1 redirect; }',
      'location ^~ /loop/ { return 302 /loop/; }',
      "location ^~ /busy/ { add_header Retry-After 7 always; return 503; }"
    ].join('\n')
  })
  t.after(() => web.close())
  const tmp = await makeTempDir('ws-')
  t.after(() => tmp.close())
  const tree = await makeRandomTree(join(web.root, 'payload'), { sizes: [100_000, 7, 0, 250_001, 40_000] })
  const made = await mktorrent(tree.root, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 15 })
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  return { web, metainfo: parsed.value, name: 'payload' }
}

test('nginx, multi-file: runs of whole pieces, one Range request per file span, bytes pass the hash check', async (t) => {
  const { web, metainfo: m } = await multiFileFixture(t)
  const seed = new WebSeed(web.base, m)
  t.after(() => seed.close())
  let expectedRequests = 0
  for (let first = 0; first < m.pieceCount; first += 4) {
    const count = Math.min(4, m.pieceCount - first)
    const run = await seed.fetchPieces(first, count)
    assert.equal(run.length, Math.min(m.length, (first + count) * m.pieceLength) - first * m.pieceLength)
    checkRun(m, first, run)
    expectedRequests += fileSpans(m, first, count).length
  }
  const requests = await web.requests()
  assert.equal(requests.length, expectedRequests)
  for (const r of requests) {
    assert.equal(r.status, 206)
    const [a, b] = r.range.replace('bytes=', '').split('-').map(Number)
    // never block-sized ranges: each asks for a whole file span of a 4-piece run
    assert.ok(b! - a! + 1 >= 7, r.range)
  }
  // a 4-piece run touching one file is one request for 128 KiB
  assert.ok(requests.some((r) => r.range === 'bytes=31072-162143' && r.uri === '/payload/d.bin'), JSON.stringify(requests))
})

test('nginx over HTTPS with a self-signed certificate, single-file layout; untrusted certificate refused', async (t) => {
  const web = await startNginx({ https: true })
  t.after(() => web.close())
  const tmp = await makeTempDir('ws-')
  t.after(() => tmp.close())
  const file = join(tmp.path, 'movie.bin')
  await writeRandomFile(file, 300_000)
  const made = await mktorrent(file, join(tmp.path, 't.torrent'), { announce: ['http://127.0.0.1:9/announce'], pieceLengthLog2: 16 })
  await rename(file, join(web.root, 'movie.bin'))
  const parsed = await parseMetainfo(made.bytes)
  assert.ok(parsed.ok)
  const m = parsed.value
  for (const url of [`${web.httpsBase}movie.bin`, web.httpsBase!]) {
    const seed = new WebSeed(url, m, { ca: web.ca! })
    t.after(() => seed.close())
    const run = await seed.fetchPieces(0, m.pieceCount)
    checkRun(m, 0, run)
  }
  const untrusted = new WebSeed(web.httpsBase!, m)
  t.after(() => untrusted.close())
  await assert.rejects(untrusted.fetchPieces(0, 1), (e: WebSeedError) => e.kind === 'network' && /self.signed|certificate/i.test(e.message))
})

test('nginx: redirects followed, a redirect loop stopped at the limit, 404 and 503 (Retry-After) classified', async (t) => {
  const { web, metainfo: m } = await multiFileFixture(t)
  const moved = new WebSeed(`${web.base}moved/`, m)
  t.after(() => moved.close())
  checkRun(m, 0, await moved.fetchPieces(0, 2))
  const loop = new WebSeed(`${web.base}loop/`, m, { maxRedirects: 3 })
  t.after(() => loop.close())
  await assert.rejects(loop.fetchPieces(0, 1), (e: WebSeedError) => e.kind === 'redirect' && /more than 3 redirects/.test(e.message))
  assert.equal((await web.requests()).filter((r) => r.uri.startsWith('/loop/')).length, 4)
  const missing = new WebSeed(`${web.base}nothing-here/`, m)
  t.after(() => missing.close())
  await assert.rejects(missing.fetchPieces(0, 1), (e: WebSeedError) => e.kind === 'missing')
  const busy = new WebSeed(`${web.base}busy/`, m)
  t.after(() => busy.close())
  await assert.rejects(busy.fetchPieces(0, 1), (e: WebSeedError) => e.kind === 'busy' && e.retryAfterMs === 7000)
})

/** A hostile web server: answers every request with `answer`. */
const hostile = async (t: { after: (fn: () => unknown) => void }, answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> => {
  const server = createServer(answer)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

const rangeOf = (req: IncomingMessage): [number, number] => {
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '')
  return m === null ? [0, 0] : [Number(m[1]), Number(m[2])]
}

test('hostile servers: endless body, short body, no body, Range ignored, wrong range, silence', async (t) => {
  const l = layoutOf([[['one.bin'], 100_000]], 32768)
  const partial = (req: IncomingMessage, res: ServerResponse, body: (n: number) => void): void => {
    const [a, b] = rangeOf(req)
    res.writeHead(206, { 'Content-Range': `bytes ${a}-${b}/100000` })
    body(b - a + 1)
  }
  const cases: Array<[string, (req: IncomingMessage, res: ServerResponse) => void, string]> = [
    ['endless body', (req, res) => partial(req, res, () => {
      const chunk = Buffer.alloc(16384, 7)
      const pump = (): void => { while (res.write(chunk)); res.once('drain', pump) }
      res.on('error', () => {})
      pump()
    }), 'long'],
    ['short body', (req, res) => partial(req, res, (n) => res.end(Buffer.alloc(n - 1))), 'short'],
    ['no body', (req, res) => partial(req, res, () => res.end()), 'short'],
    ['Range ignored', (_req, res) => { res.writeHead(200); res.end(Buffer.alloc(100_000)) }, 'no-range'],
    ['wrong range', (_req, res) => { res.writeHead(206, { 'Content-Range': 'bytes 0-32767/100000' }); res.end(Buffer.alloc(32768)) }, 'no-range'],
    ['silence', () => {}, 'timeout'],
    ['HTTP 500', (_req, res) => { res.writeHead(500); res.end() }, 'http'],
    ['redirect to a file: URL', (_req, res) => { res.writeHead(302, { Location: 'file:///etc/passwd' }); res.end() }, 'refused']
  ]
  for (const [what, answer, kind] of cases) {
    const url = await hostile(t, answer)
    const seed = new WebSeed(`${url}one.bin`, l, { idleTimeoutMs: 800 })
    t.after(() => seed.close())
    await assert.rejects(seed.fetchPieces(1, 2), (e: WebSeedError) => e instanceof WebSeedError && e.kind === kind, `${what}: expected ${kind}`)
  }
})

test('an abort ends a fetch with kind aborted', async (t) => {
  const url = await hostile(t, () => {})
  const seed = new WebSeed(`${url}one.bin`, layoutOf([[['one.bin'], 100_000]], 32768))
  t.after(() => seed.close())
  const ac = new AbortController()
  const p = seed.fetchPieces(0, 1, ac.signal)
  ac.abort()
  await assert.rejects(p, (e: WebSeedError) => e.kind === 'aborted')
})
