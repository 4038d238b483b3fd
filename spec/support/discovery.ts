/** Helpers shared by the discovery specs: wire pairs in memory, test info dictionaries. */
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import Wire from 'bittorrent-protocol'
import { bencode } from '../../lib/engine/metainfo/index.ts'

/** A bencoded single-file info dict whose size is about `pieceCount` 20-byte hashes. */
export function makeInfo (pieceCount: number, name = 'discovery-test.bin'): { info: Uint8Array; infoHash: string } {
  const pieceLength = 16384
  const info = bencode({
    length: pieceCount * pieceLength,
    name,
    'piece length': pieceLength,
    pieces: randomBytes(pieceCount * 20)
  })
  return { info, infoHash: createHash('sha1').update(info).digest('hex') }
}

export const peerId = (): Buffer => randomBytes(20)

/**
 * Two wires piped to each other, each prepared by `setup` (where extensions are
 * `use`d) and then handshaken; resolves once both extended handshakes arrived.
 */
export async function wirePair (
  infoHash: string,
  setupA: (w: Wire) => void,
  setupB: (w: Wire) => void
): Promise<[Wire, Wire]> {
  const a = new Wire('tcpOutgoing')
  const b = new Wire('tcpIncoming')
  setupA(a)
  setupB(b)
  a.pipe(b).pipe(a)
  const ready = Promise.all([once(a, 'extended'), once(b, 'extended')])
  a.handshake(infoHash, peerId())
  b.on('handshake', () => b.handshake(infoHash, peerId()))
  await ready
  return [a, b]
}

/** Resolves with the value of `p`, or rejects after `ms` (a test's own bound, not a timing assertion). */
export async function within<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms) })
  try { return await Promise.race([p, t]) } finally { clearTimeout(timer) }
}
