import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { announceHttp, announceQuery, MAX_REDIRECTS } from '../../../lib/engine/swarm/http-tracker.ts'
import type { AnnounceParams } from '../../../lib/engine/swarm/tracker-reply.ts'

const params: AnnounceParams = {
  infoHash: Buffer.alloc(20, 0xab), peerId: Buffer.from('-TP0001-abcdefghijkl'), port: 6881,
  uploaded: 1, downloaded: 2, left: 3, event: 'started', numwant: 50, key: 0xdeadbeef, ip: '203.0.113.5', trackerId: 'x y'
}

/** An HTTP server on `host` answering with `handler`; its base URL. */
const serve = async (t: { after: (fn: () => unknown) => void }, handler: (req: IncomingMessage, res: ServerResponse) => void, host = '127.0.0.1'): Promise<string> => {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const port = (server.address() as AddressInfo).port
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`
}

test('the query carries every field, percent-encoded, after the tracker\'s own query', () => {
  const q = announceQuery('http://t.example/announce?pk=1#frag', params)
  assert.equal(q, 'http://t.example/announce?pk=1&info_hash=' + '%ab'.repeat(20) +
    '&peer_id=%2d%54%50%30%30%30%31%2d%61%62%63%64%65%66%67%68%69%6a%6b%6c&port=6881&uploaded=1&downloaded=2&left=3' +
    '&compact=1&numwant=50&key=deadbeef&event=started&trackerid=x%20y&ip=203.0.113.5')
})

test('an announce over IPv6 (::1) reaches the tracker with the fields it needs', async (t) => {
  let seen: URLSearchParams | undefined
  const base = await serve(t, (req, res) => {
    seen = new URL(req.url!, 'http://x').searchParams
    res.end(Buffer.from('d8:intervali60e5:peers0:6:peers618:' + '\0'.repeat(15) + '\x01\x1a\xe1' + 'e', 'latin1'))
  }, '::1')
  const reply = await announceHttp(`${base}/announce`, params)
  assert.deepEqual(reply.peers, [{ host: '::1', port: 6881 }])
  assert.equal(seen?.get('event'), 'started')
  assert.equal(seen?.get('port'), '6881')
  assert.equal(seen?.get('compact'), '1')
})

test('redirects are followed up to a limit; a loop, a non-HTTP target and a missing Location are errors', async (t) => {
  let hops = 0
  const base = await serve(t, (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    if (path === '/announce') return res.writeHead(302, { location: '/real' }).end()
    if (path === '/real') return res.end('d8:intervali60e5:peers6:\x7f\x00\x00\x01\x00\x50e')
    if (path === '/loop') { hops++; return res.writeHead(301, { location: '/loop' }).end() }
    if (path === '/ftp') return res.writeHead(302, { location: 'ftp://t.example/x' }).end()
    res.writeHead(307).end()
  })
  assert.deepEqual((await announceHttp(`${base}/announce`, params)).peers, [{ host: '127.0.0.1', port: 80 }])
  await assert.rejects(announceHttp(`${base}/loop`, params), new RegExp(`more than ${MAX_REDIRECTS} redirects`))
  assert.equal(hops, MAX_REDIRECTS + 1)
  await assert.rejects(announceHttp(`${base}/ftp`, params), /redirected to ftp:/)
  await assert.rejects(announceHttp(`${base}/none`, params), /HTTP 307 without a Location/)
})

test('an oversized answer, an endless body, an HTTP error, garbage and a silent tracker are clear errors', async (t) => {
  const base = await serve(t, (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    if (path === '/big') return res.end(Buffer.alloc(4096, 0x61))
    if (path === '/endless') {
      const chunk = Buffer.alloc(64 * 1024, 0x61)
      const pump = (): void => { while (res.write(chunk)); }
      res.on('drain', pump)
      res.on('error', () => {})
      return pump()
    }
    if (path === '/refused') return res.writeHead(403).end('d14:failure reason6:bannede')
    if (path === '/500') return res.writeHead(500).end('oops')
    if (path === '/junk') return res.end('not bencode at all')
    // /silent: never answers
  })
  await assert.rejects(announceHttp(`${base}/big`, params, { maxBytes: 1024 }), /answer larger than 1024 bytes/)
  await assert.rejects(announceHttp(`${base}/endless`, params), /answer larger than 1048576 bytes/)
  await assert.rejects(announceHttp(`${base}/refused`, params), /HTTP 403: tracker refused: banned/)
  await assert.rejects(announceHttp(`${base}/500`, params), /^AnnounceError: HTTP 500$/)
  await assert.rejects(announceHttp(`${base}/junk`, params), /not bencode/)
  await assert.rejects(announceHttp(`${base}/silent`, params, { timeoutMs: 300 }), /no answer within/)
})

test('a refused connection and an aborted announce are errors that say so', async () => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await assert.rejects(announceHttp(`http://127.0.0.1:${port}/announce`, params), /ECONNREFUSED/)
  const ac = new AbortController()
  ac.abort()
  await assert.rejects(announceHttp(`http://127.0.0.1:${port}/announce`, params, { signal: ac.signal }), /aborted/)
})
