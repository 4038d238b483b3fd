/**
 * An in-process BitTorrent tracker (bittorrent-tracker's server, HTTP only)
 * on 127.0.0.1, for the offline demo.
 *
 * @module
 */
import { Server } from 'bittorrent-tracker'

export interface LocalTracker {
  /** `http://127.0.0.1:PORT/announce` */
  readonly announce: string
  close(): Promise<void>
}

/** Start a tracker on a free port of 127.0.0.1 (short announce interval, so peers meet fast). */
export const startLocalTracker = (): Promise<LocalTracker> =>
  new Promise((resolve, reject) => {
    // UDP and WebSocket off: one HTTP socket on loopback is all the demo needs.
    const server = new Server({ http: true, udp: false, ws: false, stats: false, interval: 5000 })
    server.on('warning', () => {})
    const http = server.http
    if (http === null) return reject(new Error('tracker: no HTTP server'))
    http.once('error', (e) => reject(new Error(`tracker: ${e.message}`)))
    http.once('listening', () => {
      const address = http.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      resolve({
        announce: `http://127.0.0.1:${port}/announce`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            http.closeAllConnections?.()
          })
      })
    })
    server.listen(0, { http: '127.0.0.1' })
  })
