import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { Readable } from 'node:stream'
import { once } from 'node:events'
import fc from 'fast-check'
import { startStreamServer, type ServedTorrent, type StreamServer } from '../../lib/stream/http-server.ts'
import { parseRange } from '../../lib/stream/range.ts'
import { contentType } from '../../lib/stream/content-type.ts'

/** A torrent whose files are plain files on disk. */
function onDisk(id: string, name: string, folder: string, files: Array<{ name: string; data: Uint8Array }>): ServedTorrent {
  return {
    id,
    name,
    files: () => files.map((f) => ({ name: f.name, length: f.data.length })),
    createReadStream: (i, { start, end }) => createReadStream(path.join(folder, files[i]!.name), { start, end: end - 1 }),
    progress: () => ({ fractionDone: 0.5, files: files.map(() => 0.5) }),
  }
}

async function setup(t: { after(fn: () => unknown): void }, extra: ServedTorrent[] = []) {
  const folder = await mkdtemp(path.join(tmpdir(), 'tp-http-'))
  t.after(() => rm(folder, { recursive: true, force: true }))
  const files = [
    { name: 'clip.webm', data: new Uint8Array(randomBytes(300_000)) },
    { name: 'notes <b>.txt', data: new Uint8Array(randomBytes(10)) },
    { name: 'empty.bin', data: new Uint8Array(0) },
  ]
  for (const f of files) await writeFile(path.join(folder, f.name), f.data)
  const torrent = onDisk('t1', 'demo & co', folder, files)
  const srv = await startStreamServer({ list: () => [torrent, ...extra] })
  t.after(() => srv.close())
  return { srv, torrent, files }
}

const get = (url: string, headers: Record<string, string> = {}, method = 'GET') => fetch(url, { method, headers })

test('a whole file: 200 with length, type, Accept-Ranges; bytes equal the source', async (t) => {
  const { srv, torrent, files } = await setup(t)
  const url = srv.fileUrl(torrent, 0)
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/t1\/0\/clip\.webm$/)
  const res = await get(url)
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'video/webm')
  assert.equal(res.headers.get('accept-ranges'), 'bytes')
  assert.equal(res.headers.get('content-length'), '300000')
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), files[0]!.data)
})

test('ranges at random offsets and sizes: 206 with Content-Range and the exact bytes', async (t) => {
  const { srv, torrent, files } = await setup(t)
  const data = files[0]!.data
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: data.length - 1 }), fc.integer({ min: 1, max: 100_000 }), async (start, n) => {
      const last = Math.min(data.length - 1, start + n - 1)
      const res = await get(srv.fileUrl(torrent, 0), { Range: `bytes=${start}-${start + n - 1}` })
      assert.equal(res.status, 206)
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${last}/${data.length}`)
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), data.subarray(start, last + 1))
    }),
    { numRuns: 40 },
  )
  const suffix = await get(srv.fileUrl(torrent, 0), { Range: 'bytes=-100' })
  assert.equal(suffix.headers.get('content-range'), `bytes ${data.length - 100}-${data.length - 1}/${data.length}`)
  assert.deepEqual(new Uint8Array(await suffix.arrayBuffer()), data.subarray(data.length - 100))
  const open = await get(srv.fileUrl(torrent, 0), { Range: 'bytes=299990-' })
  assert.deepEqual(new Uint8Array(await open.arrayBuffer()), data.subarray(299_990))
})

test('HEAD gives the headers and no body; 416 for a range past the end', async (t) => {
  const { srv, torrent } = await setup(t)
  const head = await get(srv.fileUrl(torrent, 0), { Range: 'bytes=10-19' }, 'HEAD')
  assert.equal(head.status, 206)
  assert.equal(head.headers.get('content-length'), '10')
  assert.equal((await head.arrayBuffer()).byteLength, 0)
  const past = await get(srv.fileUrl(torrent, 0), { Range: 'bytes=300000-' })
  assert.equal(past.status, 416)
  assert.equal(past.headers.get('content-range'), 'bytes */300000')
  assert.match(await past.text(), /outside the file \(300000 bytes\)/)
  const empty = await get(srv.fileUrl(torrent, 2), { Range: 'bytes=0-' })
  assert.equal(empty.status, 416)
  const whole = await get(srv.fileUrl(torrent, 2))
  assert.equal(whole.status, 200)
  assert.equal(whole.headers.get('content-length'), '0')
})

test('bad requests: unknown torrent or file, other methods, foreign Host header', async (t) => {
  const { srv } = await setup(t)
  const noFile = await get(`${srv.url}/t1/3/x`)
  assert.equal(noFile.status, 404)
  assert.match(await noFile.text(), /no file "3" in demo & co \(it has 3, numbered from 0\)/)
  assert.equal((await get(`${srv.url}/t1/-1/x`)).status, 404)
  assert.equal((await get(`${srv.url}/t1/01/x`)).status, 404)
  assert.match(await (await get(`${srv.url}/nope/0/x`)).text(), /no torrent "nope"/)
  const post = await get(`${srv.url}/t1/0/x`, {}, 'POST')
  assert.equal(post.status, 405)
  assert.equal(post.headers.get('allow'), 'GET, HEAD')
  // DNS rebinding: a page on evil.example resolving to 127.0.0.1
  const status = await new Promise<number>((resolve, reject) => {
    const u = new URL(srv.url)
    request({ host: u.hostname, port: u.port, path: '/t1/0/x', headers: { Host: 'evil.example' } }, (res) => {
      res.resume()
      resolve(res.statusCode!)
    })
      .on('error', reject)
      .end()
  })
  assert.equal(status, 403)
})

test('index pages list torrents and files with progress, names escaped', async (t) => {
  const { srv } = await setup(t)
  const root = await (await get(`${srv.url}/`)).text()
  assert.match(root, /<a href="\/t1\/">demo &amp; co<\/a> 50%/)
  assert.equal((await get(`${srv.url}/t1`, {})).url, `${srv.url}/t1/`, 'redirected to the folder form')
  const list = await (await get(`${srv.url}/t1/`)).text()
  assert.match(list, /<a href="\/t1\/0\/clip\.webm">clip\.webm<\/a> 300000 bytes, 50%/)
  assert.match(list, /notes &lt;b&gt;\.txt/)
  assert.doesNotMatch(list, /<b>/)
})

/** A reader that never ends, counting what it produced, so back-pressure and destruction are visible. */
function endless(state: { produced: number; destroyed: boolean }): Readable {
  return new Readable({
    read() {
      state.produced += 65536
      this.push(Buffer.alloc(65536, 7))
    },
    destroy(err, cb) {
      state.destroyed = true
      cb(err)
    },
  })
}

test('a client that goes away mid-stream: its reader is destroyed, nothing stays active; back-pressure holds the reader', async (t) => {
  const state = { produced: 0, destroyed: false }
  const slow: ServedTorrent = {
    id: 'slow',
    name: 'slow',
    files: () => [{ name: 'big.bin', length: 1e12 }],
    createReadStream: () => endless(state),
    progress: () => ({ fractionDone: 0 }),
  }
  const { srv } = await setup(t, [slow])
  const u = new URL(srv.fileUrl(slow, 0))
  const req = request({ host: u.hostname, port: u.port, path: u.pathname })
  req.end()
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage]
  assert.equal(res.statusCode, 200)
  res.pause() // read nothing more: the server's reader must stop producing
  await new Promise((r) => setTimeout(r, 300))
  const produced = state.produced
  await new Promise((r) => setTimeout(r, 300))
  assert.ok(state.produced - produced <= 4 * 65536, `reader kept producing while the client read nothing (${state.produced - produced} bytes)`)
  assert.equal(srv.activeResponses(), 1)
  req.destroy()
  while (!state.destroyed || srv.activeResponses() > 0) await new Promise((r) => setTimeout(r, 10))
  assert.equal(srv.activeResponses(), 0)
})

test('a reader that fails: 503 with the reason before any byte, a cut response after some', async (t) => {
  const failing = (id: string, bytesFirst: boolean): ServedTorrent => ({
    id,
    name: id,
    files: () => [{ name: 'x.bin', length: 1_000_000 }],
    createReadStream: () => {
      let sent = false
      return new Readable({
        read() {
          if (bytesFirst && !sent) {
            sent = true
            this.push(Buffer.alloc(100_000))
            return
          }
          setTimeout(() => this.destroy(new Error('torrent closed')), 50)
        },
      })
    },
    progress: () => ({ fractionDone: 0 }),
  })
  const early = failing('early', false)
  const late = failing('late', true)
  const { srv } = await setup(t, [early, late])
  const r1 = await get(srv.fileUrl(early, 0))
  assert.equal(r1.status, 503)
  assert.match(await r1.text(), /cannot read x\.bin: torrent closed/)
  const r2 = await get(srv.fileUrl(late, 0))
  assert.equal(r2.status, 200)
  await assert.rejects(r2.arrayBuffer())
  while (srv.activeResponses() > 0) await new Promise((r) => setTimeout(r, 10))
})

test('50 concurrent readers of one file all get the right bytes', async (t) => {
  const { srv, torrent, files } = await setup(t)
  const data = files[0]!.data
  const starts = Array.from({ length: 50 }, (_, i) => i * 5000)
  const bodies = await Promise.all(
    starts.map(async (s) => new Uint8Array(await (await get(srv.fileUrl(torrent, 0), { Range: `bytes=${s}-` })).arrayBuffer())),
  )
  bodies.forEach((b, i) => assert.deepEqual(b, data.subarray(starts[i])))
  assert.equal(srv.activeResponses(), 0)
})

test('parseRange and contentType', () => {
  assert.deepEqual(parseRange('bytes=0-0', 10), { start: 0, end: 1 })
  assert.deepEqual(parseRange('bytes=5-100', 10), { start: 5, end: 10 })
  assert.equal(parseRange('bytes=10-', 10), 'unsatisfiable')
  assert.equal(parseRange('bytes=-0', 10), 'unsatisfiable')
  assert.equal(parseRange('bytes=5-2', 10), null)
  assert.equal(parseRange('bytes=0-1,4-5', 10), null)
  assert.equal(parseRange('items=0-1', 10), null)
  assert.equal(parseRange('bytes=-', 10), null)
  assert.equal(parseRange(undefined, 10), null)
  assert.equal(contentType('a/B.MP4'), 'video/mp4')
  assert.equal(contentType('.hidden'), 'application/octet-stream')
  assert.equal(contentType('x.unknown'), 'application/octet-stream')
})
