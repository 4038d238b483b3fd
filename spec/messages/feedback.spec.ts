/** The TIPC feedback: constructors build what their guards accept; isCreationReply is exactly the three replies. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { emptyStats } from '../../lib/status.ts'
import { closeTorrent } from '../../lib/messages/commands.ts'
import {
  isCreationReply,
  isNewTorrentCreated,
  isTorrentAlreadyDownloading,
  isTorrentCommandRefused,
  isTorrentStartFail,
  isTorrentStatusUpdate,
  newTorrentCreated,
  torrentAlreadyDownloading,
  torrentCommandRefused,
  torrentStartFail,
  torrentStatusUpdate
} from '../../lib/messages/feedback.ts'

const guards = {
  NewTorrentCreated: isNewTorrentCreated,
  TorrentStartFail: isTorrentStartFail,
  TorrentAlreadyDownloading: isTorrentAlreadyDownloading,
  TorrentStatusUpdate: isTorrentStatusUpdate,
  TorrentCommandRefused: isTorrentCommandRefused
}
const replies = ['NewTorrentCreated', 'TorrentStartFail', 'TorrentAlreadyDownloading']

const onlyItsGuard = (m: { type: string }): void => {
  for (const [type, guard] of Object.entries(guards)) assert.equal(guard(m), type === m.type, `${type} on ${m.type}`)
  assert.equal(isCreationReply(m), replies.includes(m.type))
}

test('each constructor carries its fields, and only its own guard accepts it', () => {
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.record({ infohash: fc.string(), name: fc.string() }, { requiredKeys: [] }), (id, text, extra) => {
      const created = newTorrentCreated(id, text, extra)
      assert.deepEqual(created, { type: 'NewTorrentCreated', torrentid: id, savefolder: text, ...extra })
      const failed = torrentStartFail(text)
      assert.deepEqual(failed, { type: 'TorrentStartFail', reason: text })
      const already = torrentAlreadyDownloading(id)
      assert.deepEqual(already, { type: 'TorrentAlreadyDownloading', torrentid: id })
      const update = torrentStatusUpdate(id, emptyStats)
      assert.deepEqual(update, { type: 'TorrentStatusUpdate', torrentid: id, statsdictionary: emptyStats })
      const refused = torrentCommandRefused(closeTorrent(id), text)
      assert.deepEqual(refused, { type: 'TorrentCommandRefused', command: { type: 'CloseTorrent', torrentid: id }, reason: text })
      for (const m of [created, failed, already, update, refused]) onlyItsGuard(m)
    })
  )
})

test('isCreationReply refuses anything that is not a reply', () => {
  for (const m of [undefined, null, 'NewTorrentCreated', {}, { type: 'TorrentStatusUpdate' }, closeTorrent('t1')]) assert.equal(isCreationReply(m), false)
})
