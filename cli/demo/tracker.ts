/**
 * A small in-process HTTP tracker for the offline demo: BEP 3 announces with
 * compact IPv4 peers (BEP 23) and IPv6 peers in `peers6` (BEP 7), or a
 * dictionary list when a client asks for `compact=0`, and BEP 48 scrapes.
 * It listens on 127.0.0.1 by default (or any host given, `::1` included),
 * keeps peers in memory and forgets those silent for two intervals.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { isIP, type AddressInfo } from 'node:net'
import { bencode, type Encodable } from '../../lib/engine/metainfo/bencode-encode.ts'
import { bareHost } from '../../lib/engine/swarm/address.ts'

/** A running tracker. */
export interface LocalTracker {
  /** `http://127.0.0.1:PORT/announce` (brackets around an IPv6 host). */
  readonly announce: string
  close(): Promise<void>
}

/** Options of {@link startLocalTracker}. */
export interface LocalTrackerOptions {
  /** Address to listen on; default 127.0.0.1. */
  readonly host?: string
  /** Announce interval given to clients (s); default 5 (peers of the demo meet fast). */
  readonly intervalSeconds?: number
}

interface Peer {
  readonly host: string
  readonly port: number
  readonly peerId: Buffer
  readonly left: number
  readonly seenAt: number
}

/** Most peers given in one answer. */
const MAX_NUMWANT = 200

/** The bytes of a percent-encoded query value (`+` is a space, as in forms). */
const queryBytes = (value: string): Buffer => {
  const out: number[] = []
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c === 0x25 && /^[0-9a-f]{2}$/i.test(value.slice(i + 1, i + 3))) {
      out.push(parseInt(value.slice(i + 1, i + 3), 16))
      i += 2
    } else if (c === 0x2b) out.push(0x20)
    else out.push(...Buffer.from(value[i]!, 'utf8'))
  }
  return Buffer.from(out)
}

/** Every value of each key of a raw query, as bytes. */
const parseQuery = (url: string): Map<string, Buffer[]> => {
  const q = url.indexOf('?')
  const out = new Map<string, Buffer[]>()
  if (q < 0) return out
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=')
    const key = queryBytes(eq < 0 ? pair : pair.slice(0, eq)).toString('latin1')
    const list = out.get(key) ?? []
    list.push(queryBytes(eq < 0 ? '' : pair.slice(eq + 1)))
    out.set(key, list)
  }
  return out
}

const compactPeer = (p: Peer): Buffer => {
  const port = Buffer.alloc(2)
  port.writeUInt16BE(p.port)
  if (isIP(p.host) === 4) return Buffer.concat([Buffer.from(p.host.split('.').map(Number)), port])
  return Buffer.concat([ipv6Bytes(p.host), port])
}

/** The 16 bytes of an IPv6 address as a socket reports it (hex groups, at most one `::`). */
const ipv6Bytes = (host: string): Buffer => {
  const [head = '', tail = ''] = host.split('::')
  const a = head === '' ? [] : head.split(':')
  const b = host.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = [...a, ...Array<string>(8 - a.length - b.length).fill('0'), ...b]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

/**
 * Start a tracker on a free port.
 *
 * @example
 * ```ts
 * const tracker = await startLocalTracker()
 * const torrent = await makeTorrent(file, { announce: tracker.announce })
 * await tracker.close()
 * ```
 */
export const startLocalTracker = (opts: LocalTrackerOptions = {}): Promise<LocalTracker> => {
  const interval = opts.intervalSeconds ?? 5
  const swarms = new Map<string, Map<string, Peer>>()
  const answer = (res: ServerResponse, value: Encodable): void => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(bencode(value))
  }
  const fail = (res: ServerResponse, reason: string): void => answer(res, { 'failure reason': reason })
  const live = (hash: string, now: number): Map<string, Peer> => {
    const swarm = swarms.get(hash) ?? new Map<string, Peer>()
    for (const [k, p] of swarm) if (now - p.seenAt > interval * 2000) swarm.delete(k)
    return swarm
  }

  const onAnnounce = (req: IncomingMessage, res: ServerResponse, q: Map<string, Buffer[]>): void => {
    const hash = q.get('info_hash')?.[0]
    const peerId = q.get('peer_id')?.[0]
    const port = Number(q.get('port')?.[0]?.toString('latin1'))
    if (hash?.length !== 20 || peerId?.length !== 20) return fail(res, 'info_hash and peer_id must be 20 bytes')
    if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(res, 'port must be 1 to 65535')
    const given = q.get('ip')?.[0]?.toString('latin1')
    const host = bareHost(given !== undefined && isIP(given) !== 0 ? given : req.socket.remoteAddress ?? '')
    const left = Number(q.get('left')?.[0]?.toString('latin1') ?? 1)
    const event = q.get('event')?.[0]?.toString('latin1')
    const now = Date.now()
    const key = hash.toString('hex')
    const swarm = live(key, now)
    swarms.set(key, swarm)
    const self = `${host}|${port}`
    if (event === 'stopped') swarm.delete(self)
    else swarm.set(self, { host, port, peerId, left: Number.isFinite(left) ? left : 1, seenAt: now })
    const wanted = Math.min(MAX_NUMWANT, Number(q.get('numwant')?.[0]?.toString('latin1') ?? 50) || 50)
    const others = [...swarm.entries()].filter(([k]) => k !== self).map(([, p]) => p).slice(0, event === 'stopped' ? 0 : wanted)
    let complete = 0
    for (const p of swarm.values()) if (p.left === 0) complete++
    const counts = { interval, complete, incomplete: swarm.size - complete }
    if (q.get('compact')?.[0]?.toString('latin1') === '0') {
      return answer(res, { ...counts, peers: others.map((p) => ({ ip: p.host, port: p.port, 'peer id': p.peerId })) })
    }
    const v4 = others.filter((p) => isIP(p.host) === 4)
    const v6 = others.filter((p) => isIP(p.host) === 6)
    answer(res, { ...counts, peers: Buffer.concat(v4.map(compactPeer)), ...(v6.length > 0 && { peers6: Buffer.concat(v6.map(compactPeer)) }) })
  }

  const onScrape = (res: ServerResponse, q: Map<string, Buffer[]>): void => {
    const now = Date.now()
    const files = new Map<Uint8Array, Encodable>()
    for (const hash of q.get('info_hash') ?? []) {
      if (hash.length !== 20) return fail(res, 'info_hash must be 20 bytes')
      const swarm = live(hash.toString('hex'), now)
      let complete = 0
      for (const p of swarm.values()) if (p.left === 0) complete++
      files.set(hash, { complete, incomplete: swarm.size - complete, downloaded: 0 })
    }
    answer(res, { files })
  }

  const server = createServer((req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0]
      const q = parseQuery(req.url ?? '')
      if (path === '/announce') return onAnnounce(req, res, q)
      if (path === '/scrape') return onScrape(res, q)
      res.writeHead(404).end()
    } catch (err) {
      // A request this tracker cannot answer must not take the demo down.
      if (!res.headersSent) res.writeHead(500)
      res.end(String((err as Error)?.message ?? err))
    }
  })
  const host = opts.host ?? '127.0.0.1'
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`tracker: ${e.message}`)))
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo
      resolve({
        announce: `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}/announce`,
        close: () => new Promise<void>((done) => {
          server.close(() => done())
          server.closeAllConnections()
        })
      })
    })
  })
}
