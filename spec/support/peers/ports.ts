/**
 * Free ports on 127.0.0.1, found by binding port 0 and releasing it. A port handed out is
 * not reserved: another process could take it before the program under test binds it, so
 * ports given out in this process are never handed out twice, and start functions retry.
 */
import { connect, createServer } from 'node:net'
import { createSocket } from 'node:dgram'

const given = new Set<number>()

function tcpPort (port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(bound))
    })
  })
}

function udpFree (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.unref()
    socket.once('error', () => { socket.close(); resolve(false) })
    socket.bind({ port, address: '127.0.0.1', exclusive: true }, () => socket.close(() => resolve(true)))
  })
}

/**
 * A port on 127.0.0.1 that is free for TCP (and for UDP too when `protocol` is 'both').
 *
 * @example
 * const port = await freePort('both') // e.g. for a tracker serving http and udp on one port
 */
export async function freePort (protocol: 'tcp' | 'both' = 'tcp'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await tcpPort(0)
    if (port === 0 || given.has(port)) continue
    if (protocol === 'both' && !(await udpFree(port))) continue
    given.add(port)
    return port
  }
  throw new Error('freePort: no free port found in 50 attempts')
}

/**
 * Resolves once something accepts TCP connections on 127.0.0.1:port; rejects after
 * `timeoutMs` or as soon as `alive()` returns false (the program died).
 *
 * @example
 * await waitForTcp(port, 5000)
 */
export async function waitForTcp (port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' })
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { socket.destroy(); resolve(false) })
    })
    if (ok) return
    if (!alive()) throw new Error(`waitForTcp: process died before listening on ${port}`)
    if (Date.now() > deadline) throw new Error(`waitForTcp: nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
