/**
 * Test helpers for discovery specs: a .torrent with no tracker at all (peers
 * can only come from the DHT or PEX), and a recorder of every UDP datagram the
 * test process sends (all must go to 127.0.0.1).
 */
import { createHash } from 'node:crypto'
import dgram from 'node:dgram'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { bencode } from '../../lib/engine/metainfo/bencode-encode.ts'

/** The bytes of a single-file .torrent for `file`, with no announce and no announce-list. */
export async function trackerlessTorrent (file: string, opts: { pieceLength?: number; private?: boolean } = {}): Promise<Uint8Array> {
  const data = await readFile(file)
  const pieceLength = opts.pieceLength ?? 1 << 16
  const hashes: Buffer[] = []
  for (let at = 0; at < data.length; at += pieceLength) hashes.push(createHash('sha1').update(data.subarray(at, at + pieceLength)).digest())
  const info: Record<string, number | Uint8Array | string> = {
    length: data.length,
    name: basename(file),
    'piece length': pieceLength,
    pieces: Buffer.concat(hashes)
  }
  if (opts.private === true) info.private = 1
  return bencode({ info })
}

/**
 * Record the destination host of every UDP datagram this process sends from
 * now on. `hosts()` lists them; `restore()` puts dgram back.
 */
export function recordUdpDestinations (): { hosts(): string[]; restore(): void } {
  const seen = new Set<string>()
  const original = dgram.Socket.prototype.send
  dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
    // send(msg, [offset, length,] port, address, cb): the address is the first non-empty string after msg.
    const address = args.find((a, i) => i > 0 && typeof a === 'string' && a.length > 0)
    seen.add(typeof address === 'string' ? address : '(default)')
    return (original as (...a: unknown[]) => void).apply(this, args)
  } as typeof dgram.Socket.prototype.send
  return { hosts: () => [...seen], restore: () => { dgram.Socket.prototype.send = original } }
}

/** Count UDP sockets created from now on. */
export function countUdpSockets (): { count(): number; restore(): void } {
  let n = 0
  const original = dgram.createSocket
  ;(dgram as { createSocket: typeof dgram.createSocket }).createSocket = function (...args: unknown[]) {
    n++
    return (original as (...a: unknown[]) => dgram.Socket).apply(dgram, args)
  } as typeof dgram.createSocket
  return { count: () => n, restore: () => { (dgram as { createSocket: typeof dgram.createSocket }).createSocket = original } }
}
