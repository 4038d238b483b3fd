import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULTS, resolveOptions } from '../../../lib/engine/client/options.ts'

test('no options: every default, the working directory as save folder, DHT on, LSD off', () => {
  const o = resolveOptions({}, {}, '/srv/torrents')
  assert.equal(o.port, 0)
  assert.equal(o.host, undefined)
  assert.equal(o.downloadFolder, '/srv/torrents')
  assert.deepEqual(o.peers, [])
  assert.equal(o.statusInterval, DEFAULTS.statusInterval)
  assert.equal(o.maxConnsPerTorrent, 50)
  assert.equal(o.maxConns, 200)
  assert.equal(o.hasherWorkers, undefined)
  assert.equal(o.hashInline, true)
  assert.equal(o.uploadSlots, 4)
  assert.equal(o.requestTimeout, 10000)
  assert.equal(o.banStrikes, 2)
  assert.equal(o.uploadRateLimit, undefined)
  assert.equal(o.torrentUploadRateLimit, 0)
  assert.equal(o.torrentDownloadRateLimit, 0)
  assert.deepEqual(o.dht, { host: undefined, folder: '/srv/torrents' })
  assert.equal(o.lsd, null)
  assert.equal(o.encryption, true)
  assert.equal(o.pex, true)
  assert.equal(o.pexInterval, undefined)
})

test('given values win over defaults, falsy ones included', () => {
  const onStopped = (): void => {}
  const o = resolveOptions(
    {
      port: 6881,
      host: '127.0.0.1',
      peers: ['10.0.0.1:6881'],
      statusInterval: 250,
      maxConnsPerTorrent: 0,
      maxConns: 3,
      hasherWorkers: 0,
      hashInline: false,
      uploadSlots: 0,
      requestTimeout: 500,
      banStrikes: 1,
      uploadRateLimit: 1000,
      downloadRateLimit: 2000,
      torrentUploadRateLimit: 300,
      torrentDownloadRateLimit: 400,
      encryption: false,
      pex: false,
      pexInterval: 50,
      rechokeInterval: 100,
      optimisticInterval: 200,
      peerIdleTimeout: 300,
      onStopped
    },
    {},
    '/'
  )
  assert.deepEqual(
    [o.port, o.host, o.peers, o.statusInterval, o.maxConnsPerTorrent, o.maxConns, o.hasherWorkers, o.hashInline, o.uploadSlots],
    [6881, '127.0.0.1', ['10.0.0.1:6881'], 250, 0, 3, 0, false, 0]
  )
  assert.deepEqual(
    [o.requestTimeout, o.banStrikes, o.uploadRateLimit, o.downloadRateLimit, o.torrentUploadRateLimit, o.torrentDownloadRateLimit],
    [500, 1, 1000, 2000, 300, 400]
  )
  assert.deepEqual([o.encryption, o.pex, o.pexInterval, o.rechokeInterval, o.optimisticInterval, o.peerIdleTimeout], [false, false, 50, 100, 200, 300])
  assert.equal(o.onStopped, onStopped)
})

test('a relative save folder is resolved against the working directory, an absolute one kept', () => {
  assert.equal(resolveOptions({ downloadFolder: 'dl' }, {}, '/home/a').downloadFolder, '/home/a/dl')
  assert.equal(resolveOptions({ downloadFolder: '/data' }, {}, '/home/a').downloadFolder, '/data')
})

test('DHT: the option decides, else the environment; its host defaults to the client host, its state to the save folder', () => {
  assert.equal(resolveOptions({ dht: false }, {}, '/x').dht, null)
  assert.equal(resolveOptions({}, { TORRENT_PATRON_DHT: 'off' }, '/x').dht, null)
  assert.deepEqual(resolveOptions({ dht: true }, { TORRENT_PATRON_DHT: 'off' }, '/x').dht, { host: undefined, folder: '/x' })
  assert.deepEqual(resolveOptions({ host: '127.0.0.1', dht: { bootstrap: ['127.0.0.1:1'] } }, {}, '/x').dht, {
    bootstrap: ['127.0.0.1:1'],
    host: '127.0.0.1',
    folder: '/x'
  })
  assert.equal(resolveOptions({ host: '127.0.0.1', dht: { host: '127.0.0.2' } }, {}, '/x').dht?.host, '127.0.0.2')
})

test('LSD: true is default settings, an object is kept, false or absent is off', () => {
  assert.deepEqual(resolveOptions({ lsd: true }, {}, '/').lsd, {})
  assert.deepEqual(resolveOptions({ lsd: { groupPort: 7000 } }, {}, '/').lsd, { groupPort: 7000 })
  assert.equal(resolveOptions({ lsd: false }, {}, '/').lsd, null)
  assert.equal(resolveOptions({}, {}, '/').lsd, null)
})

test('port mapping: off unless asked for (a library opens no router ports by itself); true is default settings, an object is kept', () => {
  assert.equal(resolveOptions({}, {}, '/').portMapping, null)
  assert.equal(resolveOptions({ portMapping: false }, {}, '/').portMapping, null)
  assert.deepEqual(resolveOptions({ portMapping: true }, {}, '/').portMapping, {})
  assert.deepEqual(resolveOptions({ portMapping: { gateway: '192.0.2.1', upnp: false } }, {}, '/').portMapping, { gateway: '192.0.2.1', upnp: false })
})
