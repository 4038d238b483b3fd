/**
 * BEP 52's upgrade rules, as libtorrent 2.0.8 applies them: what we send when
 * we dial, what we answer to each incoming handshake, and which connections
 * speak v2, for v1, v2-only and hybrid torrents.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { answerHandshake, dialHandshake, v2SwarmKey, type UpgradeTorrent } from '../../../lib/engine/wire/v2-upgrade.ts'
import type { MetainfoV2 } from '../../../lib/engine/contracts.ts'

const v1Hash = 'aa'.repeat(20)
const v2Hash = 'bb'.repeat(20) + 'cc'.repeat(12)
const key = v2Hash.slice(0, 40)
const half = { infoHash: v2Hash } as unknown as MetainfoV2
const v1: UpgradeTorrent = { infoHash: v1Hash, version: 'v1' }
const hybrid: UpgradeTorrent = { infoHash: v1Hash, version: 'hybrid', v2: half }
const v2Only: UpgradeTorrent = { infoHash: key, version: 'v2', v2: half }

test('the v2 swarm key: a hybrid\'s first 20 bytes of its v2 hash; none for a torrent of one swarm', () => {
  assert.equal(v2SwarmKey(hybrid), key)
  assert.equal(v2SwarmKey(v1), null)
  assert.equal(v2SwarmKey(v2Only), null)
  // A torrent without a version field is a v1 torrent.
  assert.equal(v2SwarmKey({ infoHash: v1Hash }), null)
})

test('dialling: a hybrid offers the upgrade (v1 hash, v2 bit) and takes the v2 key as the answer that upgrades', () => {
  assert.deepEqual(dialHandshake(hybrid), { infoHash: v1Hash, v2Bit: true, speaksV2: false, upgradeKey: key })
  assert.deepEqual(dialHandshake(v1), { infoHash: v1Hash, v2Bit: false, speaksV2: false })
  assert.deepEqual(dialHandshake(v2Only), { infoHash: key, v2Bit: true, speaksV2: true })
})

test('answering a hybrid: the v2 key, or the v1 hash with the v2 bit, make a v2 connection answered with the v2 key', () => {
  assert.deepEqual(answerHandshake(hybrid, key, false), { infoHash: key, v2Bit: false, speaksV2: true })
  assert.deepEqual(answerHandshake(hybrid, key, true), { infoHash: key, v2Bit: false, speaksV2: true })
  assert.deepEqual(answerHandshake(hybrid, v1Hash, true), { infoHash: key, v2Bit: false, speaksV2: true })
  // A v1-only client: v1, answered with the v1 hash and the offer.
  assert.deepEqual(answerHandshake(hybrid, v1Hash, false), { infoHash: v1Hash, v2Bit: true, speaksV2: false })
})

test('answering a v1 or v2-only torrent: its own hash only; a v2 hash of a torrent known as v1 is not its own', () => {
  assert.deepEqual(answerHandshake(v1, v1Hash, true), { infoHash: v1Hash, v2Bit: false, speaksV2: false })
  assert.deepEqual(answerHandshake(v1, v1Hash, false), { infoHash: v1Hash, v2Bit: false, speaksV2: false })
  assert.equal(answerHandshake(v1, key, true), null)
  assert.deepEqual(answerHandshake(v2Only, key, false), { infoHash: key, v2Bit: true, speaksV2: true })
  assert.equal(answerHandshake(v2Only, v1Hash, true), null)
  assert.equal(answerHandshake(hybrid, 'dd'.repeat(20), true), null)
})
