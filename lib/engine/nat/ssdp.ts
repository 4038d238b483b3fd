/**
 * SSDP search (UPnP Device Architecture 1.1, section 1.3) for an Internet
 * Gateway Device: an M-SEARCH to 239.255.255.250:1900, sent twice a second
 * apart, and the first answer whose LOCATION is an http URL on the
 * answering host itself (an answer pointing elsewhere is ignored: a device
 * on the LAN must not send us to a third party).
 *
 * @internal
 * @module
 */
import dgram from 'node:dgram'
import { isIPv4 } from 'node:net'

/** The SSDP multicast group and port. */
export const SSDP_GROUP = { host: '239.255.255.250', port: 1900 } as const

/** What is searched for. IGD:2 devices answer searches for IGD:1 too. */
const TARGET = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1'

/** A device that answered. */
export interface SsdpAnswer {
  /** Its description URL (LOCATION). */
  readonly location: string
  /** The address the answer came from. */
  readonly from: string
}

/** The headers of an HTTP-over-UDP answer, names lower-cased; null when it is not a 200 answer. */
export const parseSsdpAnswer = (text: string): Map<string, string> | null => {
  const lines = text.split(/\r?\n/)
  if (!/^HTTP\/1\.[01] 200\b/i.test(lines[0] ?? '')) return null
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  return headers
}

/**
 * Search for a gateway for `timeoutMs`; resolves with the first usable
 * answer, rejects with the reason when none came.
 *
 * @example
 * ```ts
 * const { location } = await ssdpSearch(SSDP_GROUP, 3000) // 'http://192.0.2.1:5000/rootDesc.xml'
 * ```
 */
export const ssdpSearch = (to: { readonly host: string; readonly port: number }, timeoutMs: number): Promise<SsdpAnswer> =>
  new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4')
    const query = Buffer.from(`M-SEARCH * HTTP/1.1\r\nHOST: ${SSDP_GROUP.host}:${SSDP_GROUP.port}\r\nMAN: "ssdp:discover"\r\nMX: 2\r\nST: ${TARGET}\r\n\r\n`)
    let ignored = 0
    let done = false
    const timers: NodeJS.Timeout[] = []
    const finish = (err: Error | null, answer?: SsdpAnswer): void => {
      if (done) return
      done = true
      for (const t of timers) clearTimeout(t)
      try {
        socket.close()
      } catch {
        // already closed
      }
      if (err !== null) reject(err)
      else resolve(answer!)
    }
    const later = (ms: number, fn: () => void): void => {
      const t = setTimeout(fn, ms)
      t.unref()
      timers.push(t)
    }
    const send = (): void => {
      if (!done) socket.send(query, to.port, to.host, () => {})
    }
    socket.on('error', (err) => finish(new Error(`SSDP socket error: ${err.message}`)))
    socket.on('message', (msg, rinfo) => {
      const headers = parseSsdpAnswer(msg.toString('latin1'))
      const location = headers?.get('location')
      const st = headers?.get('st') ?? ''
      let url: URL | null = null
      try {
        url = location === undefined ? null : new URL(location)
      } catch {
        url = null
      }
      if (url === null || url.protocol !== 'http:' || url.hostname !== rinfo.address || !/InternetGatewayDevice|WAN(IP|PPP)Connection/.test(st)) {
        ignored++
        return
      }
      finish(null, { location: url.href, from: rinfo.address })
    })
    socket.bind(0, () => {
      if (isIPv4(to.host) && Number(to.host.split('.')[0]) >= 224) {
        try {
          // UDA 1.1: a TTL of 2 by default, so the search stays on the LAN.
          socket.setMulticastTTL(2)
        } catch {
          // no multicast route: the send below fails and the search times out
        }
      }
      send()
      later(1000, send)
      later(timeoutMs, () => finish(new Error(ignored > 0 ? `no usable SSDP answer (${ignored} ignored)` : 'no UPnP gateway answered the SSDP search')))
    })
  })
