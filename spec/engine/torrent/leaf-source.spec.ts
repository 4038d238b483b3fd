/**
 * The true leaves of a v2 piece from peers, over real wires: an honest peer's
 * answer verifies and gives the leaves; a liar's fails its proof, closes it,
 * and the next peer is asked; with no v2 peer (or nobody answering) there are none.
 * A hybrid asks its upgraded connections only, whatever bits its v1 peers set.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { leafSource, v2Blame } from '../../../lib/engine/torrent/leaf-source.ts'
import { hashServer } from '../../../lib/engine/torrent/hash-server.ts'
import { HashExchange } from '../../../lib/engine/wire/hash-exchange.ts'
import { LEAF_SIZE } from '../../../lib/engine/metainfo/merkle.ts'
import { v2TorrentOf } from '../../support/v2-meta.ts'
import { SmartBan } from '../../../lib/engine/download/smart-ban.ts'
import { wirePair } from '../../support/wire-pair.ts'

const PIECE = 4 * LEAF_SIZE

async function peer (serve: ConstructorParameters<typeof HashExchange>[1], v2 = true): Promise<HashExchange> {
  const { ours, theirs } = await wirePair({ ours: true, theirs: v2 })
  void new HashExchange(theirs, serve)
  return new HashExchange(ours)
}

test('the leaves of a piece: a liar is closed, the honest peer gives them', async () => {
  const t = v2TorrentOf([new Uint8Array(randomBytes(PIECE * 3 + 1000))], PIECE)
  const honest = hashServer(t.meta, (p) => Promise.resolve(t.piece(p)))!
  const liar = await peer({
    serve: async (r) => {
      const a = await honest(r)
      return a === null ? null : [new Uint8Array(32).fill(1), ...a.slice(1)]
    }
  })
  const closed = once(liar.wire, 'protocol-error')
  const good = await peer({ serve: honest })
  const v1 = await peer({ serve: honest }, false)
  const source = leafSource(t.meta, () => [v1, liar, good])!
  assert.deepEqual(await source(1), t.leaves[0]!.slice(4, 8))
  const [reason] = await closed as [string]
  assert.match(reason, /leaf hashes of piece 1 that do not verify against its piece hash/)
  // The last piece: one real leaf (the pad leaves are not part of the piece's data).
  assert.deepEqual(await source(3), t.leaves[0]!.slice(12, 13))
})

test('nobody to ask, or nobody who holds the piece: no leaves', async () => {
  const t = v2TorrentOf([new Uint8Array(randomBytes(PIECE * 2))], PIECE)
  assert.equal(await leafSource(t.meta, () => [])!(0), null)
  const lacking = await peer({ serve: hashServer(t.meta, () => null)! })
  assert.equal(await leafSource(t.meta, () => [lacking])!(0), null)
  assert.equal(v2Blame({ ...t.meta, version: 'v1' }, () => []), undefined)
  assert.equal(v2Blame({ ...t.meta, version: 'hybrid' }, () => [])?.bytes(1), PIECE)
  assert.equal(v2Blame(t.meta, () => [])?.bytes(1), PIECE)
})

test('smart ban over a real wire: a shared v2 failure names its liar from the leaves another peer serves', async () => {
  const t = v2TorrentOf([new Uint8Array(randomBytes(PIECE * 2))], PIECE)
  const x = await peer({ serve: hashServer(t.meta, (p) => Promise.resolve(t.piece(p)))! })
  const banned: string[] = []
  const ban = new SmartBan({
    banStrikes: 1,
    blockSize: LEAF_SIZE,
    picker: { failed: () => {}, restrict: () => {} },
    canRefetch: () => true,
    closed: () => false,
    onBan: (key) => banned.push(key),
    v2: v2Blame(t.meta, () => [x])
  })
  ban.sender('honest:1', 'H')
  ban.sender('liar:1', 'L')
  const bad = t.piece(1)
  bad[LEAF_SIZE + 99]! ^= 0x10 // block 1, from the liar
  ban.failed(1, { senders: new Map([['honest:1', 3 * LEAF_SIZE], ['liar:1', LEAF_SIZE]]), from: ['honest:1', 'liar:1', 'honest:1', 'honest:1'], data: (use) => use(bad) }, () => {})
  while (banned.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.deepEqual(banned, ['L'])
  assert.equal(ban.strikesOf('H'), 0)
})

test('a hybrid: its v1 connections are never asked, even when the peer set the v2 bit; an upgraded liar is closed', async () => {
  const t = v2TorrentOf([new Uint8Array(randomBytes(PIECE * 2))], PIECE)
  const meta = { ...t.meta, version: 'hybrid' as const }
  const honest = hashServer(meta, (p) => Promise.resolve(t.piece(p)))!
  let askedV1 = 0
  // The peer set the v2 bit, but the connection stayed v1 (its torrent decided: speaksV2 false).
  const v1 = await peer({ serve: (r) => { askedV1++; return honest(r) } })
  v1.wire.speaksV2 = false
  const liar = await peer({ serve: async (r) => { const a = await honest(r); return a === null ? null : [new Uint8Array(32).fill(9), ...a.slice(1)] } })
  liar.wire.speaksV2 = true
  const closed = once(liar.wire, 'protocol-error')
  const good = await peer({ serve: honest })
  good.wire.speaksV2 = true
  assert.deepEqual(await leafSource(meta, () => [v1, liar, good])!(1), t.leaves[0]!.slice(4, 8))
  assert.match(((await closed) as [string])[0], /do not verify/)
  assert.equal(askedV1, 0)
})

test('smart ban of a hybrid: an upgraded peer\'s leaves name a liar in the file\'s bytes; a lie in the pad bytes is left to the v1 judgement', async () => {
  // One file of a piece and a half: piece 1 holds two leaves of data, then pad bytes that only SHA-1 covers.
  const t = v2TorrentOf([new Uint8Array(randomBytes(PIECE + PIECE / 2))], PIECE)
  const meta = { ...t.meta, version: 'hybrid' as const }
  const x = await peer({ serve: hashServer(meta, (p) => Promise.resolve(t.piece(p)))! })
  x.wire.speaksV2 = true
  const blame = v2Blame(meta, () => [x])!
  assert.equal(blame.bytes(1), PIECE / 2)
  const run = (corrupt: number) => {
    const banned: string[] = []
    let asked: Promise<unknown> = Promise.resolve()
    const ban = new SmartBan({
      banStrikes: 1,
      blockSize: LEAF_SIZE,
      picker: { failed: () => {}, restrict: () => {} },
      canRefetch: () => true,
      closed: () => false,
      onBan: (key) => banned.push(key),
      v2: { bytes: blame.bytes, leaves: (p) => (asked = blame.leaves(p)) as Promise<Uint8Array[] | null> }
    })
    ban.sender('honest:1', 'H')
    ban.sender('liar:1', 'L')
    const bad = t.piece(1)
    bad[corrupt * LEAF_SIZE + 7]! ^= 0x01
    ban.failed(1, { senders: new Map([['honest:1', 2 * LEAF_SIZE], ['liar:1', 2 * LEAF_SIZE]]), from: ['honest:1', 'liar:1', 'honest:1', 'liar:1'], data: (use) => use(bad) }, () => {})
    return { ban, banned, asked: () => asked }
  }
  const inData = run(1)
  await inData.asked()
  assert.deepEqual(inData.banned, ['L'], 'block 1 (file bytes) names its sender from the leaves')
  const inPad = run(3)
  await inPad.asked()
  assert.deepEqual(inPad.banned, [], 'no leaf differs: the leaves cannot name anyone')
  inPad.ban.passed(1, t.piece(1))
  assert.deepEqual(inPad.banned, ['L'], 'the v1 judgement names the sender of the bad pad block once the piece passes')
  assert.equal(inPad.ban.strikesOf('H'), 0)
})
