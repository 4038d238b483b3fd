/**
 * Small fake home routers on loopback for the port-mapping specs' bad-input
 * cases (junk XML, silence, NAT-PMP garbage) and their protocol details: a
 * NAT-PMP (and PCP) responder and a UPnP IGD (SSDP answerer + HTTP description and SOAP
 * control). The real path is covered by miniupnpd in network namespaces
 * (spec/interop/port-mapping.spec.ts); these only play the router's side of
 * the exchanges as a spec tells them to.
 */
import dgram from 'node:dgram'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/** The external address the fakes report (a documentation address). */
export const FAKE_EXTERNAL = '198.51.100.65'

export type NatPmpMode = 'ok' | 'garbage' | 'silent' | 'refuse'

/** A NAT-PMP gateway on 127.0.0.1. */
export interface FakeNatPmp {
  readonly port: number
  /** Live mappings: "tcp:6881" -> lifetime. */
  readonly mappings: Map<string, number>
  /** Requests received (opcode, internal port, lifetime). */
  readonly requests: Array<{ op: number; internal: number; lifetime: number }>
  mode: NatPmpMode
  /** Answer PCP (RFC 6887) MAP requests too; otherwise a PCP request gets NAT-PMP's "unsupported version". */
  pcp: boolean
  /** Lifetime granted (default what was asked). */
  grant?: number
  close(): Promise<void>
}

export const fakeNatPmp = async (mode: NatPmpMode): Promise<FakeNatPmp> => {
  const socket = dgram.createSocket('udp4')
  const mappings = new Map<string, number>()
  const requests: FakeNatPmp['requests'] = []
  const fake: FakeNatPmp = {
    port: 0,
    mappings,
    requests,
    mode,
    pcp: false,
    close: () => new Promise((resolve) => socket.close(() => resolve()))
  }
  socket.on('message', (msg, rinfo) => {
    const op = msg[1] ?? 0
    const internal = msg.length >= 12 ? msg.readUInt16BE(4) : 0
    const lifetime = msg.length >= 12 ? msg.readUInt32BE(8) : 0
    requests.push({ op, internal, lifetime })
    const reply = (b: Buffer): void => socket.send(b, rinfo.port, rinfo.address)
    if (fake.mode === 'silent') return
    if (msg[0] === 2 && fake.mode === 'ok') return reply(fake.pcp ? pcpAnswer(msg) : Buffer.from([0, 128 + op, 0, 1, 0, 0, 4, 210]))
    if (fake.mode === 'garbage') {
      // too short, wrong version, wrong opcode, and a success too short to read
      for (const junk of [Buffer.from([0]), Buffer.from([7, 128 + op, 0, 0]), Buffer.from([0, 99, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]), Buffer.from([0, 128 + op, 0, 0, 0, 0])]) reply(junk)
      return
    }
    const head = Buffer.alloc(op === 0 ? 12 : 16)
    head[1] = 128 + op
    head.writeUInt16BE(fake.mode === 'refuse' ? 2 : 0, 2)
    head.writeUInt32BE(1234, 4)
    if (fake.mode === 'refuse') return reply(head.subarray(0, 8))
    if (op === 0) {
      FAKE_EXTERNAL.split('.').forEach((o, i) => (head[8 + i] = Number(o)))
      return reply(head)
    }
    const key = `${op === 1 ? 'udp' : 'tcp'}:${internal}`
    const granted = lifetime === 0 ? 0 : (fake.grant ?? lifetime)
    if (lifetime === 0) mappings.delete(key)
    else mappings.set(key, granted)
    head.writeUInt16BE(internal, 8)
    head.writeUInt16BE(lifetime === 0 ? 0 : internal, 10)
    head.writeUInt32BE(granted, 12)
    reply(head)
  })
  /** PCP nonce of each live mapping: a deletion with another one is refused, as RFC 6887 says. */
  const nonces = new Map<string, string>()
  const pcpAnswer = (msg: Buffer): Buffer => {
    const out = Buffer.alloc(60)
    msg.copy(out, 24, 24, 60)
    out[0] = 2
    out[1] = 0x81
    const lifetime = msg.readUInt32BE(4)
    const key = `${msg[36] === 6 ? 'tcp' : 'udp'}:${msg.readUInt16BE(40)}`
    const nonce = msg.subarray(24, 36).toString('hex')
    if (lifetime === 0) {
      if (nonces.get(key) !== nonce) {
        out[3] = 2
        return out
      }
      mappings.delete(key)
      nonces.delete(key)
    } else {
      mappings.set(key, fake.grant ?? lifetime)
      nonces.set(key, nonce)
    }
    out.writeUInt32BE(lifetime === 0 ? 0 : (fake.grant ?? lifetime), 4)
    out.writeUInt32BE(1234, 8)
    out.writeUInt16BE(lifetime === 0 ? 0 : msg.readUInt16BE(40), 42)
    out[54] = 0xff
    out[55] = 0xff
    FAKE_EXTERNAL.split('.').forEach((o, i) => (out[56 + i] = Number(o)))
    return out
  }
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
  return Object.assign(fake, { port: (socket.address() as AddressInfo).port })
}

/** How the fake IGD behaves: its SSDP side, its description, its SOAP control. */
export interface IgdBehaviour {
  /** 'silent': SSDP searches get no answer; 'elsewhere': the answer's LOCATION names another host. */
  ssdp: 'ok' | 'silent' | 'elsewhere'
  /** 'junk': the description is not XML; 'noservice': XML without a WAN connection service. */
  description: 'ok' | 'junk' | 'noservice'
  /** 'junk': SOAP answers are junk with status 200; 'permanent': leases other than 0 refused (error 725). */
  control: 'ok' | 'junk' | 'permanent'
}

/** A UPnP IGD on 127.0.0.1. */
export interface FakeIgd {
  /** `host:port` of its SSDP answerer. */
  readonly ssdpTarget: string
  /** Live mappings: "TCP:6881" -> lease asked. */
  readonly mappings: Map<string, number>
  /** SOAP actions received, in order. */
  readonly actions: string[]
  /** The internal client of the last AddPortMapping. */
  lastClient: string
  behaviour: IgdBehaviour
  close(): Promise<void>
}

const DESCRIPTION = (control: string): string => `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service></serviceList>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType><deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>${control}</controlURL><SCPDURL>/WANIPCn.xml</SCPDURL></service></serviceList>
</device></deviceList></device></deviceList></device></root>`

const envelope = (inner: string): string =>
  `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${inner}</s:Body></s:Envelope>`

const fault = (code: number, text: string): string =>
  envelope(`<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode><errorDescription>${text}</errorDescription></UPnPError></detail></s:Fault>`)

const arg = (body: string, name: string): string => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1] ?? ''

export const fakeIgd = async (behaviour: IgdBehaviour): Promise<FakeIgd> => {
  const mappings = new Map<string, number>()
  const actions: string[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      const b = fake.behaviour
      if (req.method === 'GET') {
        if (b.description === 'junk') return res.end('<<<this is </not> xml at all & never was')
        if (b.description === 'noservice') return res.end('<?xml version="1.0"?><root><device><serviceList><service><serviceType>urn:x:printer:1</serviceType><controlURL>/p</controlURL></service></serviceList></device></root>')
        return res.end(DESCRIPTION('/ctl/IPConn'))
      }
      const action = /#(\w+)"?$/.exec(String(req.headers.soapaction ?? ''))?.[1] ?? '?'
      actions.push(action)
      if (b.control === 'junk') return res.end('\u0000\u0001 not soap <u:AddPortMappingResponse')
      const key = `${arg(body, 'NewProtocol')}:${arg(body, 'NewExternalPort')}`
      if (action === 'GetExternalIPAddress') return res.end(envelope(`<u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"><NewExternalIPAddress>${FAKE_EXTERNAL}</NewExternalIPAddress></u:GetExternalIPAddressResponse>`))
      if (action === 'AddPortMapping') {
        const lease = Number(arg(body, 'NewLeaseDuration'))
        if (b.control === 'permanent' && lease !== 0) {
          res.statusCode = 500
          return res.end(fault(725, 'OnlyPermanentLeasesSupported'))
        }
        fake.lastClient = arg(body, 'NewInternalClient')
        mappings.set(key, lease)
        // empty and self-closing, as miniupnpd answers
        return res.end(envelope('<u:AddPortMappingResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"/>'))
      }
      if (action === 'DeletePortMapping') {
        if (!mappings.delete(key)) {
          res.statusCode = 500
          return res.end(fault(714, 'NoSuchEntryInArray'))
        }
        return res.end(envelope('<u:DeletePortMappingResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"></u:DeletePortMappingResponse>'))
      }
      res.statusCode = 500
      res.end(fault(401, 'Invalid Action'))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const httpPort = (server.address() as AddressInfo).port
  const ssdp = dgram.createSocket('udp4')
  ssdp.on('message', (msg, rinfo) => {
    if (fake.behaviour.ssdp === 'silent' || !msg.toString().startsWith('M-SEARCH')) return
    const host = fake.behaviour.ssdp === 'elsewhere' ? '127.0.0.2' : '127.0.0.1'
    const answer = `HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nUSN: uuid:fake::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\nSERVER: fake/1 UPnP/1.1 fake/1\r\nLOCATION: http://${host}:${httpPort}/rootDesc.xml\r\n\r\n`
    ssdp.send(answer, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => ssdp.bind(0, '127.0.0.1', () => resolve()))
  const fake: FakeIgd = {
    ssdpTarget: `127.0.0.1:${(ssdp.address() as AddressInfo).port}`,
    mappings,
    actions,
    lastClient: '',
    behaviour,
    close: async () => {
      server.closeAllConnections()
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), new Promise<void>((resolve) => ssdp.close(() => resolve()))])
    }
  }
  return fake
}
