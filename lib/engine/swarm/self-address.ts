/**
 * Recognise our own listen address among peers learnt from any source (DHT,
 * PEX, trackers): a DHT lookup returns our own announce, and libtorrent's PEX
 * lists a peer's own address back to it. Dialling those wastes a connection
 * that the peer-id check would only close afterwards.
 *
 * @module
 */
import { networkInterfaces } from 'node:os'
import { bareHost } from './address.ts'

/** Hosts that mean "this machine" whatever the interface list says. */
const ALWAYS_LOCAL = ['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost']

/**
 * A predicate telling whether `host:port` is us, for a client listening on
 * `port` (on `bindHost`, or on every interface when it is absent or a wildcard).
 *
 * @example
 * const isSelf = selfAddressFilter(6881)
 * isSelf('127.0.0.1', 6881) // true
 * isSelf('127.0.0.1', 6882) // false
 */
export function selfAddressFilter (port: number, bindHost?: string): (host: string, port: number) => boolean {
  const hosts = new Set<string>(ALWAYS_LOCAL)
  if (bindHost !== undefined) hosts.add(bindHost)
  // Read once: interfaces rarely change during a run and this is called per learnt peer.
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) hosts.add(a.address)
  }
  return (host, p) => p === port && hosts.has(bareHost(host))
}
