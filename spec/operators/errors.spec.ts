import assert from 'node:assert/strict'
import { test } from 'node:test'
import { closeTorrent, torrentCommandRefused, torrentStartFail, newTorrentCreated, type Feedback } from '../../lib/messages.ts'
import { errors } from '../../operators/errors.ts'
import { collect, timed, update } from './helpers.ts'

test('errors extracts start failures, refusals and error activities (once per change)', () => {
  const msgs: Feedback[] = [
    newTorrentCreated('a', '/d'),
    torrentStartFail('metainfo: bad pieces'),
    update('a', { activity: 'downloading' }),
    update('a', { activity: 'error: disk full' }),
    update('a', { activity: 'error: disk full' }),
    torrentCommandRefused(closeTorrent('x'), 'not your torrent'),
    update('a', { activity: 'downloading' }),
    update('a', { activity: 'error: disk full' })
  ]
  const out = collect(errors(timed(msgs.map((m, i) => [i, m] as const))))
  assert.deepEqual(
    out.values.map((p) => [p.kind, p.reason]),
    [
      ['start-fail', 'metainfo: bad pieces'],
      ['torrent', 'disk full'],
      ['refused', 'not your torrent'],
      ['torrent', 'disk full']
    ]
  )
  const t = out.values[1]!
  assert.equal(t.kind === 'torrent' && t.torrentid, 'a')
  assert.equal(out.ended, 7)
})
