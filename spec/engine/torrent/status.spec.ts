import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TorrentStatus, STALL_AFTER, type StatusPeer } from '../../../lib/engine/torrent/status.ts'
import { PiecePicker } from '../../../lib/engine/download/picker.ts'
import { Bitfield } from '../../../lib/engine/wire/bitfield.ts'
import { ManualClock } from '../../support/engine-fakes.ts'

const meta = { pieceCount: 4, pieceLength: 100, lastPieceLength: 50, length: 350, name: 'x' }

const peer = (address: string, seed: boolean, source: StatusPeer['source'] = 'tracker', transport: StatusPeer['transport'] = 'tcp'): StatusPeer => ({
  address, source, transport, remoteId: null, downloaded: 1, uploaded: 2, ready: true, rejects: 0, wire: { amChoking: true, hasFast: false, encryption: transport === 'utp' ? 'rc4' : 'none', speaksV2: transport === 'utp' ? true : null }, isSeed: () => seed
})

test('status: done fraction counts the short last piece; peers by source; distributed copies', () => {
  const clock = new ManualClock()
  const picker = new PiecePicker({ pieceCount: 4, pieceLength: 100, length: 350 })
  const status = new TorrentStatus(meta, picker, clock.now)
  status.activity = 'downloading'
  picker.verified(3)
  assert.equal(status.verifiedBytes(), 50)
  assert.equal(status.bytesLeft(), 300)
  const bits = new Bitfield(4)
  bits.set(0)
  bits.set(1)
  picker.addAvailability(bits)
  status.transportNote = () => 'tcp+utp'
  const s = status.stats([peer('a:1', true), peer('b:1', false, 'pex', 'utp')])
  assert.equal(s.fractionDone, 50 / 350)
  assert.equal(s.numPeers, 2)
  assert.equal(s.numSeeds, 1)
  assert.equal(s.peerSources?.pex, 1)
  assert.deepEqual(s.peerTransports, { tcp: 1, utp: 1 })
  assert.deepEqual(s.peerEncryption, { rc4: 1, obfuscated: 0, none: 1 })
  assert.equal(s.transport, 'tcp+utp')
  assert.deepEqual(status.peerInfo([peer('b:1', false, 'pex', 'utp')]).map((p) => p.transport), ['utp'])
  assert.deepEqual(status.peerInfo([peer('b:1', false, 'pex', 'utp')]).map((p) => p.encryption), ['rc4'])
  // The protocol of each connection (BEP 52): a connection no torrent made v2 counts as v1.
  assert.deepEqual(s.peerVersions, { v1: 1, v2: 1 })
  assert.deepEqual(status.peerInfo([peer('a:1', true), peer('b:1', false, 'pex', 'utp')]).map((p) => p.version), ['v1', 'v2'])
  // copies per piece: 1, 1, 0, 1 -> min 0, three above
  assert.equal(s.numCopies, 0.75)
  assert.equal(s.piecesDone, 1)
})

test('status: refused bytes are discarded; outside endgame they count in the diagnostic; stalled after STALL_AFTER without blocks', () => {
  const clock = new ManualClock()
  const picker = new PiecePicker({ pieceCount: 4, pieceLength: 100, length: 350, blockSize: 100 })
  const status = new TorrentStatus(meta, picker, clock.now)
  status.activity = 'downloading'
  status.refused(10)
  assert.equal(status.discarded, 10)
  assert.equal((status.stats([]) as unknown as { refusedOutsideEndgame: number }).refusedOutsideEndgame, 10)
  status.received(100)
  status.accepted('a:1', 100)
  assert.deepEqual(status.contributed(), { 'a:1': 100 })
  assert.equal(status.stats([]).downTotal, 100)
  clock.advance(STALL_AFTER + 6000) // past the rate window too
  assert.equal(status.stats([]).activity, 'stalled')
})
