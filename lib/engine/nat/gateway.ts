/**
 * The default IPv4 gateway, read from Linux's routing table
 * (`/proc/net/route`): where NAT-PMP requests go. Elsewhere, or without a
 * default route, there is none and NAT-PMP is not tried (UPnP's SSDP search
 * needs no gateway address).
 *
 * @internal
 * @module
 */
import { readFile } from 'node:fs/promises'

/** RTF_UP | RTF_GATEWAY */
const UP_GATEWAY = 0x3

/**
 * The gateway of the first default route in the text of `/proc/net/route`, or null.
 *
 * @example
 * ```ts
 * parseDefaultGateway('Iface\tDestination\tGateway\tFlags\neth0\t00000000\t0102000A\t0003\n') // '10.0.2.1'
 * ```
 */
export const parseDefaultGateway = (table: string): string | null => {
  for (const line of table.split('\n').slice(1)) {
    const [, dest, gw, flags] = line.trim().split(/\s+/)
    if (dest !== '00000000' || gw === undefined || !/^[0-9A-Fa-f]{8}$/.test(gw) || (parseInt(flags ?? '0', 16) & UP_GATEWAY) !== UP_GATEWAY) continue
    const n = parseInt(gw, 16)
    // little-endian: the first octet is the lowest byte
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.')
  }
  return null
}

/**
 * This host's default IPv4 gateway, or null.
 *
 * @example
 * ```ts
 * await defaultGateway() // '192.0.2.1'
 * ```
 */
export const defaultGateway = async (): Promise<string | null> => {
  try {
    return parseDefaultGateway(await readFile('/proc/net/route', 'utf8'))
  } catch {
    return null
  }
}
