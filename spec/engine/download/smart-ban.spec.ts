import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SmartBan } from '../../../lib/engine/download/smart-ban.ts'
import type { PieceAttempt } from '../../../lib/engine/download/assembly.ts'

const B = 16

const rig = (banStrikes = 1) => {
  const bans: [string, string][] = []
  const picker = { failed: [] as number[], restricted: [] as [number, string][] }
  const ban = new SmartBan({
    banStrikes,
    blockSize: B,
    picker: { failed: (p) => picker.failed.push(p), restrict: (p, id) => picker.restricted.push([p, id]) },
    canRefetch: () => true,
    closed: () => false,
    onBan: (key, address) => bans.push([key, address])
  })
  return { ban, bans, picker }
}

const attempt = (from: string[], data: Uint8Array): PieceAttempt => {
  const senders = new Map<string, number>()
  for (const a of from) senders.set(a, (senders.get(a) ?? 0) + B)
  return { senders, from, data: (use) => use(data) }
}

test('smart ban: a sole sender of a bad piece is struck (by peer id and address) and banned at banStrikes', () => {
  const { ban, bans, picker } = rig(2)
  ban.sender('a:1', 'peer-a')
  let done = 0
  ban.failed(0, attempt(['a:1', 'a:1'], new Uint8Array(2 * B)), () => done++)
  assert.deepEqual(picker.failed, [0])
  assert.equal(done, 1)
  assert.equal(ban.strikesOf('peer-a'), 1)
  assert.equal(ban.strikesOf('a:1'), 1)
  assert.deepEqual(bans, [])
  ban.failed(0, attempt(['a:1'], new Uint8Array(B)), () => done++)
  assert.deepEqual(bans, [['peer-a', 'a:1']])
})

test('smart ban: several senders of a bad piece: nobody struck, the piece re-downloaded from one sender; the good copy names the liar', () => {
  const { ban, bans, picker } = rig(1)
  ban.sender('honest:1', 'H')
  ban.sender('liar:1', 'L')
  const good = Buffer.alloc(2 * B, 7)
  const bad = Buffer.from(good)
  bad[B] = 0 // the liar's block 1
  ban.failed(3, attempt(['honest:1', 'liar:1'], bad), () => {})
  assert.deepEqual(bans, [], 'the fault is unknown yet')
  assert.deepEqual(picker.failed, [3])
  assert.equal(picker.restricted.length, 1)
  assert.equal(ban.suspected(3), true)
  ban.passed(3, good)
  assert.deepEqual(bans, [['L', 'liar:1']])
  assert.equal(ban.strikesOf('H'), 0, 'the honest sender is never struck')
  assert.equal(ban.suspected(3), false)
})

test('smart ban: unreadable good data strikes nobody', () => {
  const { ban, bans } = rig(1)
  ban.failed(1, attempt(['a:1', 'b:1'], Buffer.alloc(2 * B, 1)), () => {})
  ban.passed(1, null)
  assert.deepEqual(bans, [])
})
