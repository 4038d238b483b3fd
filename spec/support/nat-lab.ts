/**
 * A home network in three network namespaces, for the port-mapping spec:
 *
 *     INNER (engine)  --  ROUTER (miniupnpd, masquerade)  --  OUTER (a peer "on the internet")
 *     198.51.100.2/26     198.51.100.1/26 | 198.51.100.65/26    198.51.100.66/26 (+ .67)
 *
 * The router forwards and masquerades the inner /26 out of its WAN link with
 * nftables; miniupnpd (Debian's, nftables backend) adds its DNAT and filter
 * rules to the chains laid out here, and answers SSDP, UPnP SOAP and NAT-PMP
 * on the LAN side.
 *
 * miniupnpd 2.3.1 refuses to map ports when its WAN address is reserved
 * (every documentation range is) unless it learns the public address by STUN
 * and STUN finds no filtering NAT in front of it: it has no option to allow
 * a reserved address (`ext_allow_private_ipv4` comes with 2.3.9). So the
 * outer namespace runs a small RFC 5389 / RFC 3489 STUN responder of our own
 * on two addresses and two ports, which tells the router the truth of this
 * lab: its WAN address is 198.51.100.65, reached without translation. No
 * public address is used anywhere.
 *
 * Names are prefixed `t15n-`; {@link NatLab.close} kills what runs inside
 * and deletes the namespaces (taking the veth pairs), also on process exit,
 * and a lab left by a crashed run is removed before a new one is made.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { onProcessExit } from './peers/process.ts'
import { dropNetns } from './netns.ts'

export const LAB = {
  inner: { ns: 't15n-in', dev: 't15n-il', address: '198.51.100.2' },
  router: { ns: 't15n-rt', lan: 't15n-rl', wan: 't15n-rw', lanAddress: '198.51.100.1', wanAddress: '198.51.100.65' },
  outer: { ns: 't15n-out', dev: 't15n-ol', address: '198.51.100.66', second: '198.51.100.67' }
} as const

const NAMESPACES = [LAB.inner.ns, LAB.router.ns, LAB.outer.ns]

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** Run `file args` inside namespace `ns`, returning its stdout. */
export const inNs = (ns: string, file: string, args: readonly string[], input?: string): string =>
  execFileSync('ip', ['netns', 'exec', ns, file, ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] })

/** The router's ruleset: forwarding LAN -> WAN, masquerade, and the empty chains miniupnpd fills. */
const RULESET = `
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${LAB.router.lan}" oifname "${LAB.router.wan}" accept
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    ip saddr 198.51.100.0/26 oifname "${LAB.router.wan}" masquerade
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
`

/** The lab, up. */
export interface NatLab {
  /** `[file, args]` running `file args` in namespace `ns`. */
  command(ns: string, file: string, args: readonly string[]): [string, string[]]
  /** The router's miniupnpd rules (nft), as text. */
  routerRules(): string
  /** Kill everything inside, delete the namespaces. Idempotent. */
  close(): void
}

/**
 * Make the three namespaces, their links and the router's forwarding and
 * masquerade (miniupnpd and the STUN responder are started by the spec).
 * `dir` holds the ruleset file.
 *
 * @example
 * ```ts
 * const lab = openNatLab(dir)
 * t.after(() => lab.close())
 * ```
 */
export const openNatLab = (dir: string): NatLab => {
  for (const ns of NAMESPACES) dropNetns(ns)
  let closed = false
  const close = (): void => {
    if (closed) return
    closed = true
    unregister()
    for (const ns of NAMESPACES) dropNetns(ns)
  }
  const unregister = onProcessExit(close)
  const { inner, router, outer } = LAB
  try {
    for (const ns of NAMESPACES) {
      ip('netns', 'add', ns)
      ip('-n', ns, 'link', 'set', 'lo', 'up')
    }
    ip('-n', inner.ns, 'link', 'add', inner.dev, 'type', 'veth', 'peer', 'name', router.lan, 'netns', router.ns)
    ip('-n', router.ns, 'link', 'add', router.wan, 'type', 'veth', 'peer', 'name', outer.dev, 'netns', outer.ns)
    ip('-n', inner.ns, 'addr', 'add', `${inner.address}/26`, 'dev', inner.dev)
    ip('-n', router.ns, 'addr', 'add', `${router.lanAddress}/26`, 'dev', router.lan)
    ip('-n', router.ns, 'addr', 'add', `${router.wanAddress}/26`, 'dev', router.wan)
    ip('-n', outer.ns, 'addr', 'add', `${outer.address}/26`, 'dev', outer.dev)
    ip('-n', outer.ns, 'addr', 'add', `${outer.second}/26`, 'dev', outer.dev)
    for (const [ns, dev] of [[inner.ns, inner.dev], [router.ns, router.lan], [router.ns, router.wan], [outer.ns, outer.dev]] as const) ip('-n', ns, 'link', 'set', dev, 'up')
    ip('-n', inner.ns, 'route', 'add', 'default', 'via', router.lanAddress)
    inNs(router.ns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
    const rules = join(dir, 'router.nft')
    writeFileSync(rules, RULESET)
    inNs(router.ns, 'nft', ['-f', rules])
  } catch (e) {
    close()
    const err = e as Error & { stderr?: string }
    throw new Error(`NAT lab: ${err.stderr?.trim() || err.message}`)
  }
  return {
    command: (ns, file, args) => ['ip', ['netns', 'exec', ns, file, ...args]],
    routerRules: () => inNs(router.ns, 'nft', ['list', 'chain', 'inet', 'filter', 'prerouting_miniupnpd']) + inNs(router.ns, 'nft', ['list', 'chain', 'inet', 'filter', 'miniupnpd']),
    close
  }
}

/** miniupnpd's configuration for the lab's router; `natpmp` false leaves UPnP IGD alone. */
export const miniupnpdConfig = (o: { natpmp: boolean; leaseFile: string; stunPort: number }): string =>
  [
    `ext_ifname=${LAB.router.wan}`,
    `listening_ip=${LAB.router.lan}`,
    'http_port=0',
    `enable_natpmp=${o.natpmp ? 'yes' : 'no'}`,
    'enable_upnp=yes',
    'ipv6_disable=yes',
    // the WAN address is reserved (a documentation range): learnt and checked by STUN (see the module comment)
    'ext_perform_stun=yes',
    `ext_stun_host=${LAB.outer.address}`,
    `ext_stun_port=${o.stunPort}`,
    'secure_mode=yes',
    'system_uptime=no',
    'notify_interval=60',
    'clean_ruleset_interval=600',
    `lease_file=${o.leaseFile}`,
    'upnp_table_name=filter',
    'upnp_nat_table_name=filter',
    'uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b',
    'allow 1024-65535 198.51.100.0/26 1024-65535',
    'deny 0-65535 0.0.0.0/0 0-65535',
    ''
  ].join('\n')

/**
 * The source of a STUN responder (RFC 5389 binding answers with MAPPED- and
 * XOR-MAPPED-ADDRESS, RFC 3489 CHANGE-REQUEST honoured from a second address
 * and port), run with node inside the outer namespace: `node -e <source>
 * <address> <second address> <port> <second port>`.
 */
export const STUN_RESPONDER = `
const dgram = require('node:dgram')
const [a1, a2, p1, p2] = process.argv.slice(1)
const sockets = {}
const open = (a, p) => new Promise((resolve) => { const s = dgram.createSocket('udp4'); s.bind(Number(p), a, () => resolve(s)); sockets[a + ':' + p] = s })
;(async () => {
  for (const a of [a1, a2]) for (const p of [p1, p2]) await open(a, p)
  for (const [key, s] of Object.entries(sockets)) {
    const [a, p] = key.split(':')
    s.on('message', (m, r) => {
      if (m.length < 20 || m.readUInt16BE(0) !== 1) return
      let change = 0
      for (let i = 20; i + 4 <= m.length;) {
        const type = m.readUInt16BE(i), len = m.readUInt16BE(i + 2)
        if (type === 3 && len >= 4) change = m.readUInt32BE(i + 4)
        i += 4 + Math.ceil(len / 4) * 4
      }
      const from = sockets[((change & 4) ? (a === a1 ? a2 : a1) : a) + ':' + ((change & 2) ? (p === p1 ? p2 : p1) : p)]
      const oct = r.address.split('.').map(Number)
      const attr = (type, xor) => {
        const b = Buffer.alloc(12)
        b.writeUInt16BE(type, 0); b.writeUInt16BE(8, 2); b[5] = 1
        b.writeUInt16BE(xor ? r.port ^ 0x2112 : r.port, 6)
        const ipn = ((oct[0] << 24) | (oct[1] << 16) | (oct[2] << 8) | oct[3]) >>> 0
        b.writeUInt32BE(xor ? (ipn ^ 0x2112a442) >>> 0 : ipn, 8)
        return b
      }
      const body = Buffer.concat([attr(1, false), attr(0x20, true)])
      const head = Buffer.alloc(20)
      head.writeUInt16BE(0x0101, 0); head.writeUInt16BE(body.length, 2); m.copy(head, 4, 4, 20)
      from.send(Buffer.concat([head, body]), r.port, r.address)
    })
  }
  process.stdout.write('stun ready\\n')
})()
`
