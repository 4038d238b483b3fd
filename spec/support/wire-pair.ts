/**
 * Two engine wires (CappedWire) joined over an in-memory connection, both
 * handshaken, for specs of what runs on a wire after its handshake. `v2`
 * says which side sets the BEP 52 v2 bit.
 */
import { randomBytes } from 'node:crypto'
import Wire from 'bittorrent-protocol'
import { newCappedWire, type CappedWire } from '../../lib/engine/wire/capped-wire.ts'
import { socketPair } from './engine-fakes.ts'

export interface WirePair {
  readonly ours: CappedWire
  readonly theirs: CappedWire
}

/** Our wire dials theirs; resolves once both handshakes went through. */
export async function wirePair (v2: { ours: boolean, theirs: boolean }, infoHash = randomBytes(20).toString('hex')): Promise<WirePair> {
  const [a, b] = socketPair()
  const ours = newCappedWire('tcpOutgoing')
  const theirs = newCappedWire('tcpIncoming')
  a.pipe(ours).pipe(a)
  b.pipe(theirs).pipe(b)
  const theirsDone = new Promise<void>((resolve) => theirs.once('handshake', () => {
    theirs.handshake(infoHash, randomBytes(20).toString('hex'), { v2: v2.theirs })
    resolve()
  }))
  const oursDone = new Promise<void>((resolve) => ours.once('handshake', () => resolve()))
  ours.handshake(infoHash, randomBytes(20).toString('hex'), { v2: v2.ours })
  await Promise.all([theirsDone, oursDone])
  return { ours, theirs }
}

/** Our wire joined to a plain library Wire that sets the v2 bit by hand and answers no hash message (a peer that never answers). */
export async function silentV2Peer (infoHash = randomBytes(20).toString('hex')): Promise<CappedWire> {
  const [a, b] = socketPair()
  const ours = newCappedWire('tcpOutgoing')
  const theirs = new Wire()
  a.pipe(ours).pipe(a)
  b.pipe(theirs).pipe(b)
  theirs.once('handshake', () => {
    // The library sets no v2 bit: write this side's handshake by hand.
    const reserved = new Uint8Array([0, 0, 0, 0, 0, 0x10, 0, 0x10])
    const id = randomBytes(20)
    b.write(Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), reserved, Buffer.from(infoHash, 'hex'), id]))
  })
  const done = new Promise<void>((resolve) => ours.once('handshake', () => resolve()))
  ours.handshake(infoHash, randomBytes(20).toString('hex'), { v2: true })
  await done
  return ours
}
