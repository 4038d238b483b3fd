/**
 * The engine against a hostile peer (spec/support/hostile-peer.ts, raw bytes on 127.0.0.1) with an
 * honest aria2c seeder beside it: for every attack the engine hangs up on the attacker (where
 * the attack is a protocol violation), keeps downloading from aria2c, ends with byte-identical
 * data, and its heap (plus buffers) stays within a bound while it happens.
 */
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { runEngine, memoryWatch } from '../support/engine.ts'
import { freePort } from '../support/peers/ports.ts'
import { pollUntil } from '../support/peers/wait.ts'
import { hostileFixture, type HostileFixture } from '../support/hostile-fixture.ts'
import {
  dialHostile,
  disconnectScripts,
  hostileScripts,
  requestFloodWhenUnchoked,
  startHostilePeer,
  type HostileScript
} from '../support/hostile-peer.ts'

/** Bound on heap + array buffers above the level at the start of a scenario. */
const MEMORY_BOUND = 150 << 20

let fx: HostileFixture

before(async () => {
  fx = await hostileFixture('hostile-')
})

after(() => fx?.close())

/** Attacks the engine dials (explicit peer); `dropped` says whether it must hang up on us. */
const dialled: Array<{ name: keyof typeof hostileScripts, dropped: boolean }> = [
  { name: 'wrongInfoHash', dropped: true },
  { name: 'notBitTorrent', dropped: true },
  { name: 'giantLength', dropped: true },
  { name: 'bitfieldTooLong', dropped: true },
  { name: 'bitfieldTooShort', dropped: true },
  { name: 'haveOutOfRange', dropped: true },
  { name: 'haveTruncated', dropped: true },
  { name: 'unknownThenDoubleBitfield', dropped: true },
  { name: 'requestFlood', dropped: false },
  { name: 'unrequestedPieces', dropped: true },
  { name: 'wrongBlocks', dropped: true },
  { name: 'keepAlivesOnly', dropped: false },
  { name: 'extendedGarbage', dropped: false },
  { name: 'extendedHuge', dropped: false }
]

for (const { name, dropped } of dialled) {
  test(`hostile peer (engine dials it): ${name}`, { timeout: 45000 }, async (t) => {
    const mem = memoryWatch()
    t.after(() => mem.stop())
    const evil = await startHostilePeer(fx.target, hostileScripts[name] as HostileScript)
    t.after(() => evil.close())
    const run = await fx.download(t, [evil.peer, fx.honest.peer], { requestTimeout: 3000 })
    await run.finish()
    assert.ok(evil.connections.length > 0, 'the engine never dialled the hostile peer')
    const first = evil.connections[0]!
    assert.equal(first.scriptError, undefined, `script failed: ${String(first.scriptError)}`)
    if (dropped) {
      assert.ok(await first.conn.waitClosed(10000), 'the engine did not hang up on the hostile peer')
      assert.ok(first.conn.closedByRemote, 'the connection ended, but not by the engine')
    }
    t.diagnostic(`peak rise ${(mem.peak() / 2 ** 20).toFixed(1)} MiB`)
    assert.ok(mem.peak() < MEMORY_BOUND, `heap + buffers rose by ${(mem.peak() / 2 ** 20).toFixed(1)} MiB`)
  })
}

test('hostile peers dialling the engine: wrong infohash, giant length, bad bitfield, garbage', { timeout: 45000 }, async (t) => {
  const mem = memoryWatch()
  t.after(() => mem.stop())
  const port = await freePort()
  const run = await fx.download(t, [fx.honest.peer], { port, host: '127.0.0.1' })
  await pollUntil(() => run.engine.latest(run.id)?.activity === 'downloading', { timeoutMs: 10000, what: 'downloading' })
  const names = ['wrongInfoHash', 'giantLength', 'bitfieldTooLong', 'haveOutOfRange', 'notBitTorrent'] as const
  // The listener speaks second: these scripts send their handshake first, then misbehave.
  const records = await Promise.all(names.map((n) => dialHostile(port, fx.target, hostileScripts[n] as HostileScript)))
  records.forEach((r, i) => {
    assert.equal(r.scriptError, undefined, `${names[i]}: ${String(r.scriptError)}`)
    assert.ok(r.conn.closed && r.conn.closedByRemote, `${names[i]}: the engine did not hang up`)
  })
  await run.finish()
  t.diagnostic(`peak rise ${(mem.peak() / 2 ** 20).toFixed(1)} MiB`)
  assert.ok(mem.peak() < MEMORY_BOUND, `heap + buffers rose by ${(mem.peak() / 2 ** 20).toFixed(1)} MiB`)
})

test('disconnects at every point of the handshake and first messages, while downloading', { timeout: 45000 }, async (t) => {
  const mem = memoryWatch()
  t.after(() => mem.stop())
  // As a dialled peer: the engine's outgoing side is cut at successive points on each redial.
  const cuts = disconnectScripts(fx.target)
  let next = 0
  const evil = await startHostilePeer(fx.target, (c) => cuts[next++ % cuts.length]!.script(c))
  t.after(() => evil.close())
  const port = await freePort()
  const run = await fx.download(t, [evil.peer, fx.honest.peer], { port, host: '127.0.0.1' })
  await pollUntil(() => run.engine.latest(run.id)?.activity === 'downloading', { timeoutMs: 10000, what: 'downloading' })
  // As peers dialling the engine's listener: one connection per cut point.
  for (const { name, script } of disconnectScripts(fx.target)) {
    const r = await dialHostile(port, fx.target, script)
    assert.equal(r.scriptError, undefined, `${name}: ${String(r.scriptError)}`)
  }
  await run.finish()
  assert.ok(evil.connections.length > 0, 'the engine never dialled the cutting peer')
  t.diagnostic(`peak rise ${(mem.peak() / 2 ** 20).toFixed(1)} MiB`)
  assert.ok(mem.peak() < MEMORY_BOUND, `heap + buffers rose by ${(mem.peak() / 2 ** 20).toFixed(1)} MiB`)
})

test('a request flood against a seeding engine from a peer that never reads: memory stays bounded', { timeout: 45000 }, async (t) => {
  const port = await freePort()
  const run = await fx.download(t, [fx.honest.peer], { port, host: '127.0.0.1' })
  await run.finish()
  const mem = memoryWatch()
  t.after(() => mem.stop())
  // 3,000 requests of 16 KiB = 47 MiB of answers, none of them read.
  const r = await dialHostile(port, fx.target, requestFloodWhenUnchoked(3000, 16384, 8000))
  assert.equal(r.scriptError, undefined, String(r.scriptError))
  const s = run.engine.latest(run.id)!
  assert.equal(s.activity, 'seeding')
  t.diagnostic(`peak rise ${(mem.peak() / 2 ** 20).toFixed(1)} MiB`)
  assert.ok(mem.peak() < MEMORY_BOUND, `heap + buffers rose by ${(mem.peak() / 2 ** 20).toFixed(1)} MiB`)
})

test('a peer that claims every piece, unchokes, then sends only keep-alives is dropped once its requests time out', { timeout: 45000 }, async (t) => {
  const evil = await startHostilePeer(fx.target, hostileScripts.keepAlivesOnly as HostileScript)
  t.after(() => evil.close())
  // No honest peer: completion would otherwise close the "seed" for another reason.
  const engine = runEngine(t, { hasherWorkers: 1, requestTimeout: 2000 })
  const id = await engine.create(fx.made.bytes, join(fx.tmp.path, 'out-keep-alives'), [evil.peer])
  await pollUntil(() => evil.connections[0], { timeoutMs: 10000, what: 'engine dials the peer' })
  const conn = evil.connections[0]!.conn
  // Three request timeouts of 2 s each (checked on a 1 s tick), with a wide margin.
  assert.ok(await conn.waitClosed(30000), 'the silent peer was never dropped')
  assert.ok(conn.closedByRemote)
  const s = engine.latest(id)!
  assert.equal(s.piecesDone, 0)
  assert.equal(s.discarded, 0)
})

test('idle peers (a keep-alive flood, a silent one) are dropped after peerIdleTimeout while aria2c delivers', { timeout: 45000 }, async (t) => {
  const mem = memoryWatch()
  t.after(() => mem.stop())
  const flood = await startHostilePeer(fx.target, hostileScripts.keepAliveFlood as HostileScript)
  t.after(() => flood.close())
  const silent = await startHostilePeer(fx.target, hostileScripts.silent as HostileScript)
  t.after(() => silent.close())
  // Neither advertises a piece nor asks for one: with the default (5 min) both would stay connected.
  const run = await fx.download(t, [flood.peer, silent.peer, fx.honest.peer], { peerIdleTimeout: 1500 })
  for (const [name, evil] of [['keep-alive flood', flood], ['silent', silent]] as const) {
    const first = await pollUntil(() => evil.connections[0], { timeoutMs: 10000, what: `engine dials the ${name} peer` })
    assert.ok(await first.conn.waitClosed(15000), `the ${name} peer was never dropped`)
    assert.ok(first.conn.closedByRemote, `the ${name} peer's connection ended, but not by the engine`)
    assert.equal(first.scriptError, undefined, `${name} script failed: ${String(first.scriptError)}`)
  }
  const done = await run.finish()
  assert.equal(done.discarded, 0)
  t.diagnostic(`peak rise ${(mem.peak() / 2 ** 20).toFixed(1)} MiB`)
  assert.ok(mem.peak() < MEMORY_BOUND, `heap + buffers rose by ${(mem.peak() / 2 ** 20).toFixed(1)} MiB`)
})
