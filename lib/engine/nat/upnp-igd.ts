/**
 * UPnP Internet Gateway Device client (WANIPConnection / WANPPPConnection,
 * versions 1 and 2): read the device description at the SSDP LOCATION, find
 * the connection service's control URL, and call its SOAP actions
 * GetExternalIPAddress, AddPortMapping and DeletePortMapping.
 *
 * The documents involved are small and fixed in shape, so they are read with
 * a few element look-ups (as libtorrent's own small XML parser does), not a
 * general XML library: junk gives "no such element" and a clear error, never
 * a throw from a parser. Every HTTP exchange is bounded (3 s, 64 KiB), and
 * the control URL must be on the host that served the description.
 *
 * @internal
 * @module
 */

/** Longest wait for one HTTP exchange with the gateway (ms). */
const HTTP_TIMEOUT = 3000
/** Largest document read from the gateway. */
const MAX_BODY = 64 * 1024

/** Connection services that can map ports, best first. */
const SERVICES = [/^urn:schemas-upnp-org:service:WANIPConnection:[12]$/, /^urn:schemas-upnp-org:service:WANPPPConnection:1$/]

/** UPnP error codes worth naming (IGD WANIPConnection spec). */
const UPNP_ERRORS: Record<number, string> = {
  606: 'action not authorized',
  714: 'no such entry',
  718: 'the external port is mapped to another client',
  724: 'internal and external ports must be the same',
  725: 'only permanent leases are supported',
  728: 'no port left',
  729: 'conflict with another mechanism'
}

const decode = (s: string): string =>
  s.replace(/&(lt|gt|amp|quot|apos|#(\d+)|#x([0-9a-f]+));/gi, (m, name: string, dec?: string, hex?: string) =>
    dec !== undefined ? String.fromCodePoint(Number(dec)) : hex !== undefined ? String.fromCodePoint(parseInt(hex, 16)) : ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[name.toLowerCase()] ?? m)
  )

/**
 * The text of every element named `name` (any namespace prefix) in `xml`, in
 * order; a nested element's own markup is kept in its parent's text.
 *
 * @example
 * ```ts
 * elementTexts('<a><s:b>1</s:b><b>2</b></a>', 'b') // ['1', '2']
 * ```
 */
export const elementTexts = (xml: string, name: string): string[] => {
  const out: string[] = []
  const re = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${name}\\s*>`, 'g')
  for (const m of xml.matchAll(re)) out.push(m[1]!)
  return out
}

/** The first `name` element's text, trimmed and decoded, or undefined. */
const first = (xml: string, name: string): string | undefined => {
  const t = elementTexts(xml, name)[0]
  return t === undefined ? undefined : decode(t.trim())
}

/** A gateway's port-mapping service. */
export interface IgdService {
  readonly serviceType: string
  readonly controlUrl: string
  /** Our address on the LAN as the gateway sees it (the local end of the connection to it). */
  readonly localAddress: string
}

interface HttpReply {
  readonly status: number
  readonly body: string
  readonly localAddress: string
}

const exchange = async (url: string, init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }): Promise<HttpReply> => {
  // node:http loads only when a gateway is asked over UPnP.
  const http = await import('node:http')
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method, headers: { Connection: 'close', ...init.headers }, agent: false })
    let localAddress = ''
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url} within ${HTTP_TIMEOUT} ms`)), HTTP_TIMEOUT)
    timer.unref()
    req.on('socket', (s) => s.on('connect', () => (localAddress = s.localAddress ?? '')))
    req.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_BODY) req.destroy(new Error(`${url} sent more than ${MAX_BODY} bytes`))
        else chunks.push(c)
      })
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), localAddress })
      })
      res.on('error', () => {})
    })
    req.end(init.body)
  })
}

/**
 * Read the description at `location` and pick its port-mapping service.
 *
 * @example
 * ```ts
 * const igd = await findIgdService('http://192.0.2.1:5000/rootDesc.xml')
 * igd.controlUrl // 'http://192.0.2.1:5000/ctl/IPConn'
 * ```
 */
export const findIgdService = async (location: string): Promise<IgdService> => {
  const desc = await exchange(location, { method: 'GET' })
  if (desc.status !== 200) throw new Error(`description ${location}: HTTP ${desc.status}`)
  const base = first(desc.body, 'URLBase') || location
  const services = elementTexts(desc.body, 'service')
  for (const wanted of SERVICES) {
    for (const s of services) {
      const type = first(s, 'serviceType')
      const control = first(s, 'controlURL')
      if (type === undefined || control === undefined || !wanted.test(type)) continue
      let url: URL
      try {
        url = new URL(control, base)
      } catch {
        continue
      }
      if (url.protocol !== 'http:' || url.host !== new URL(location).host) continue
      return { serviceType: type, controlUrl: url.href, localAddress: desc.localAddress }
    }
  }
  throw new Error(`description ${location} names no WANIPConnection or WANPPPConnection service`)
}

/** A failed action: the UPnP error code when the gateway gave one. */
export class UpnpError extends Error {
  constructor(
    message: string,
    readonly code: number | null
  ) {
    super(message)
  }
}

/**
 * Call `action` with `args` (in the order the service defines them); the
 * reply's fields by name.
 */
const soap = async (igd: IgdService, action: string, args: ReadonlyArray<readonly [string, string | number]>): Promise<string> => {
  const xmlArgs = args.map(([k, v]) => `<${k}>${String(v).replace(/&/g, '&amp;').replace(/</g, '&lt;')}</${k}>`).join('')
  const body =
    '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    `<s:Body><u:${action} xmlns:u="${igd.serviceType}">${xmlArgs}</u:${action}></s:Body></s:Envelope>\r\n`
  const reply = await exchange(igd.controlUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: `"${igd.serviceType}#${action}"`, 'Content-Length': String(Buffer.byteLength(body)) },
    body
  })
  // the response element, empty (`<u:AddPortMappingResponse .../>`, as miniupnpd sends it) or not
  if (reply.status === 200 && new RegExp(`<(?:[\\w.-]+:)?${action}Response[\\s/>]`).test(reply.body)) return reply.body
  const code = first(reply.body, 'errorCode')
  const n = code !== undefined && /^\d+$/.test(code) ? Number(code) : null
  if (n !== null) throw new UpnpError(`${action}: UPnP error ${n} (${UPNP_ERRORS[n] ?? first(reply.body, 'errorDescription') ?? 'no description'})`, n)
  throw new UpnpError(`${action}: malformed answer (HTTP ${reply.status}, ${reply.body.length} bytes)`, null)
}

/**
 * The gateway's external address.
 *
 * @example
 * ```ts
 * await upnpExternalAddress(igd) // '198.51.100.65'
 * ```
 */
export const upnpExternalAddress = async (igd: IgdService): Promise<string> => {
  const body = await soap(igd, 'GetExternalIPAddress', [])
  const ip = first(body, 'NewExternalIPAddress')
  if (ip === undefined || !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new UpnpError('GetExternalIPAddress: no address in the answer', null)
  return ip
}

/**
 * Map external `port` of `protocol` to the same port of ours for `lease`
 * seconds (0: permanent). Resolves with the lease granted: a gateway that
 * supports permanent leases only (error 725) is asked again for one.
 *
 * @example
 * ```ts
 * await upnpAddMapping(igd, 'tcp', 6881, 3600, 'torrent-patron') // 3600
 * ```
 */
export const upnpAddMapping = async (igd: IgdService, protocol: 'tcp' | 'udp', port: number, lease: number, description: string): Promise<number> => {
  const args = (l: number): Array<readonly [string, string | number]> => [
    ['NewRemoteHost', ''],
    ['NewExternalPort', port],
    ['NewProtocol', protocol.toUpperCase()],
    ['NewInternalPort', port],
    ['NewInternalClient', igd.localAddress],
    ['NewEnabled', 1],
    ['NewPortMappingDescription', description],
    ['NewLeaseDuration', l]
  ]
  try {
    await soap(igd, 'AddPortMapping', args(lease))
    return lease
  } catch (e) {
    if (!(e instanceof UpnpError) || e.code !== 725 || lease === 0) throw e
    await soap(igd, 'AddPortMapping', args(0))
    return 0
  }
}

/**
 * Remove the mapping of external `port` of `protocol`.
 *
 * @example
 * ```ts
 * await upnpDeleteMapping(igd, 'tcp', 6881)
 * ```
 */
export const upnpDeleteMapping = async (igd: IgdService, protocol: 'tcp' | 'udp', port: number): Promise<void> => {
  await soap(igd, 'DeletePortMapping', [
    ['NewRemoteHost', ''],
    ['NewExternalPort', port],
    ['NewProtocol', protocol.toUpperCase()]
  ])
}
