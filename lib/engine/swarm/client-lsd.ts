/**
 * The client's opt-in BEP 14 Local Service Discovery: one multicast endpoint
 * for all torrents, started once our TCP listen port is known; each
 * non-private torrent is announced while it runs and local peers announcing it
 * are handed to it.
 *
 * Off by default: on a real host the right multicast interface depends on the
 * network, and the engine cannot tell it; see docs/discovery.md.
 *
 * @module
 */
import { createLsd, type Lsd } from './lsd.ts'

/**
 * `ClientOptions.lsd` when given as an object.
 *
 * @example
 * ```ts
 * const lsd: LsdSettings = { interface: '192.168.1.10' }
 * const engine = torrentClient({ lsd })
 * ```
 */
export interface LsdSettings {
  /** Local interface address to send and join on; default the system's choice. */
  readonly interface?: string
  /** Multicast port; default 6771 (tests use a free port). */
  readonly groupPort?: number
  /** Re-announce period (ms); default 5 minutes. */
  readonly intervalMs?: number
}

/** One torrent's LSD membership. */
export interface LsdTorrentSession { close(): void }

/**
 * LSD shared by a client's torrents.
 *
 * @example
 * const lsd = new ClientLsd({ interface: '127.0.0.1' }, listenPort)
 * const s = lsd.track(infoHash, false, (addr) => torrent.addPeerAddress(addr, 'lsd'))
 * s?.close(); await lsd.close()
 */
export class ClientLsd {
  private readonly endpoint: Promise<Lsd | null>
  private readonly torrents = new Map<string, (addr: string) => void>()
  private closed = false

  constructor (settings: LsdSettings, listenPort: Promise<number | null>) {
    this.endpoint = listenPort.then((port) => {
      if (port === null || this.closed) return null
      const lsd = createLsd({ port, ...settings })
      lsd.on('warning', () => {}) // junk datagrams from the LAN are routine
      lsd.on('peer', (addr, infoHash) => this.torrents.get(infoHash)?.(addr))
      return lsd.ready.then(() => lsd, async () => { await lsd.destroy(); return null })
    }, () => null)
  }

  /** Announce `infoHash` while the session lasts; null (nothing sent) for a private torrent. */
  track (infoHash: string, isPrivate: boolean, onPeer: (addr: string) => void): LsdTorrentSession | null {
    if (isPrivate || this.closed) return null
    const ih = infoHash.toLowerCase()
    this.torrents.set(ih, onPeer)
    let stopped = false
    void this.endpoint.then((lsd) => { if (!stopped) lsd?.add(ih) })
    return {
      close: () => {
        if (stopped) return
        stopped = true
        if (this.torrents.get(ih) === onPeer) this.torrents.delete(ih)
        void this.endpoint.then((lsd) => lsd?.remove(ih))
      }
    }
  }

  /** Stop announcing and close the socket. Idempotent. */
  async close (): Promise<void> {
    this.closed = true
    this.torrents.clear()
    await (await this.endpoint)?.destroy()
  }
}
