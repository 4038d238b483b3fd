import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createNewTorrent, isCloseTorrent, isCreateNewTorrent } from '../../lib/messages.ts'
import { closeTorrent } from '../../operators/commands.ts'

test('createNewTorrent and the operators\' closeTorrent build the TIPC commands', () => {
  const bytes = new Uint8Array([1, 2, 3])
  const c = createNewTorrent(bytes, { savefolder: 'dl', peers: ['127.0.0.1:6881'] })
  assert.ok(isCreateNewTorrent(c))
  assert.deepEqual(c, { type: 'CreateNewTorrent', rawmetainfo: bytes, savefolder: 'dl', peers: ['127.0.0.1:6881'] })
  assert.deepEqual(createNewTorrent('magnet:?xt=urn:btih:00'), { type: 'CreateNewTorrent', rawmetainfo: 'magnet:?xt=urn:btih:00' })
  const k = closeTorrent('t1')
  assert.ok(isCloseTorrent(k))
  assert.equal(k.torrentid, 't1')
})
