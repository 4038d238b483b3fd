import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Discovery } from '../../../lib/engine/torrent/discovery.ts'
import type { DhtTorrentHooks } from '../../../lib/engine/swarm/client-dht.ts'

test('discovery: DHT and LSD peers reach the one callback with their source; stop leaves both', async () => {
  const learnt: string[] = []
  let hooks: DhtTorrentHooks | undefined
  let lsdPeer: ((addr: string) => void) | undefined
  const closed: string[] = []
  let wanted = true
  const d = new Discovery({
    meta: { infoHash: 'ab'.repeat(20), announce: [], private: false },
    ctx: {
      peerId: 'cd'.repeat(20),
      port: 6881,
      joinDht: (_ih, _priv, h) => ((hooks = h), { close: () => closed.push('dht') } as never),
      joinLsd: (_ih, _priv, onPeer) => ((lsdPeer = onPeer), { close: () => closed.push('lsd') } as never)
    },
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    onPeer: (addr, source) => learnt.push(`${source} ${addr}`),
    onCounts: () => {},
    wanted: () => wanted
  })
  d.start()
  hooks!.onPeer('10.0.0.1', 6881)
  lsdPeer!('10.0.0.2:6882')
  assert.deepEqual(learnt, ['dht 10.0.0.1:6881', 'lsd 10.0.0.2:6882'])
  assert.equal(hooks!.wanted(), true)
  wanted = false
  assert.equal(hooks!.wanted(), false)
  d.update()
  d.completed()
  await d.stop()
  assert.deepEqual(closed, ['dht', 'lsd'])
})

test('discovery: a tracker URL the library cannot use does not stop the torrent', async () => {
  const d = new Discovery({
    meta: { infoHash: 'ab'.repeat(20), announce: ['bogus://x'], private: true },
    ctx: { peerId: 'cd'.repeat(20), port: 6881 },
    stats: () => ({ uploaded: 0, downloaded: 0, left: 1 }),
    onPeer: () => {},
    onCounts: () => {},
    wanted: () => true
  })
  d.start()
  await d.stop()
})
