import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { httpGet } from '../../../lib/engine/swarm/http-get.ts'

/** An HTTP server on 127.0.0.1 answering with `handler`; its base URL. */
const serve = async (t: { after: (fn: () => unknown) => void }, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> => {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

test('a GET gives the status and the whole body, with the headers asked for and one connection per request', async (t) => {
  const seen: { ua?: string; connection?: string }[] = []
  const base = await serve(t, (req, res) => {
    seen.push({ ua: req.headers['user-agent'], connection: req.headers.connection })
    res.writeHead(200).end('d8:intervali60ee')
  })
  const a = await httpGet(`${base}/announce?x=1`, { maxBytes: 1024, headers: { 'user-agent': 'torrent-patron' } })
  assert.equal(a.status, 200)
  assert.equal(Buffer.from(a.body!).toString(), 'd8:intervali60ee')
  assert.deepEqual(seen, [{ ua: 'torrent-patron', connection: 'close' }])
})

test('a redirect is not followed: its status and Location come back', async (t) => {
  const base = await serve(t, (_req, res) => res.writeHead(302, { location: '/elsewhere' }).end())
  const a = await httpGet(`${base}/announce`, { maxBytes: 1024 })
  assert.equal(a.status, 302)
  assert.equal(a.location, '/elsewhere')
})

test('a body longer than the cap gives null, without reading it all', async (t) => {
  let written = 0
  const base = await serve(t, (_req, res) => {
    res.writeHead(200)
    // Endless: the client must stop reading at the cap.
    const more = (): void => {
      while (res.write(Buffer.alloc(16384))) written += 16384
      res.once('drain', more)
    }
    res.on('error', () => {})
    more()
  })
  const a = await httpGet(`${base}/big`, { maxBytes: 100_000 })
  assert.equal(a.status, 200)
  assert.equal(a.body, null)
  assert.ok(written < 64 * 1024 * 1024)
})

test('a refused connection rejects with Node\'s error code; an abort rejects with the signal\'s reason', async (t) => {
  // A port that was free a moment ago: nothing listens there.
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  await assert.rejects(httpGet(`http://127.0.0.1:${port}/`, { maxBytes: 10 }), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED')

  const base = await serve(t, () => {}) // never answers
  const ac = new AbortController()
  const pending = httpGet(`${base}/silent`, { maxBytes: 10, signal: ac.signal })
  setTimeout(() => ac.abort(new Error('given up')), 50)
  await assert.rejects(pending, /given up/)
  await assert.rejects(httpGet(`${base}/x`, { maxBytes: 10, signal: ac.signal }), /given up/)
})

test('a non-HTTP URL is refused before any request', async () => {
  await assert.rejects(httpGet('ftp://127.0.0.1/x', { maxBytes: 10 }), /not an HTTP URL/)
})
