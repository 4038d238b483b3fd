/** The TIPC commands: their constructors build what their guards accept, and no other guard. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { closeTorrent, createNewTorrent, isCloseTorrent, isCreateNewTorrent, isSetFilePriority, setFilePriority, type FilePriority } from '../../lib/messages/commands.ts'

const guards = { CreateNewTorrent: isCreateNewTorrent, CloseTorrent: isCloseTorrent, SetFilePriority: isSetFilePriority }
const priority = fc.constantFrom<FilePriority>('skip', 'low', 'normal', 'high')

const onlyItsGuard = (m: { type: string }): void => {
  for (const [type, guard] of Object.entries(guards)) assert.equal(guard(m), type === m.type, `${type} on ${m.type}`)
}

test('createNewTorrent keeps the metainfo and every option given, and adds none', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array(), fc.string()),
      fc.record({ savefolder: fc.string(), peers: fc.array(fc.string()), priorities: fc.array(priority), otherFiles: priority }, { requiredKeys: [] }),
      (raw, options) => {
        const cmd = createNewTorrent(raw, options)
        assert.deepEqual(cmd, { type: 'CreateNewTorrent', rawmetainfo: raw, ...options })
        onlyItsGuard(cmd)
      }
    )
  )
  assert.deepEqual(Object.keys(createNewTorrent('magnet:?xt=urn:btih:00')), ['type', 'rawmetainfo'])
})

test('closeTorrent and setFilePriority carry their fields', () => {
  fc.assert(
    fc.property(fc.string(), fc.oneof(fc.nat(), fc.constant<'others'>('others')), priority, (id, file, p) => {
      const close = closeTorrent(id)
      assert.deepEqual(close, { type: 'CloseTorrent', torrentid: id })
      onlyItsGuard(close)
      const set = setFilePriority(id, file, p)
      assert.deepEqual(set, { type: 'SetFilePriority', torrentid: id, file, priority: p })
      onlyItsGuard(set)
    })
  )
})
