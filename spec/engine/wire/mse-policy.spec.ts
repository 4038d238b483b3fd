/**
 * lib/engine/wire/mse-policy.ts alone: the three levels, the fallback on a
 * refused obfuscated handshake, the per-peer memory (and its bound), and a
 * model-checked property over random attempt histories.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MsePolicy, parseEncryptionLevel, peEnabledFor, type Handshake, type EncryptionLevel } from '../../../lib/engine/wire/mse-policy.ts'

const P = '198.51.100.7:6881'

test('disabled: plaintext always, no retry', () => {
  const m = new MsePolicy('disabled')
  assert.equal(m.first(P), 'plaintext')
  assert.equal(m.failed(P, 'plaintext', 'handshake'), null)
  m.succeeded(P, 'plaintext')
  assert.equal(m.first(P), 'plaintext')
  assert.equal(m.size, 0)
})

test('forced: obfuscated always, never a plaintext retry', () => {
  const m = new MsePolicy('forced')
  assert.equal(m.first(P), 'obfuscated')
  assert.equal(m.failed(P, 'obfuscated', 'handshake'), null)
  assert.equal(m.first(P), 'obfuscated')
})

test('enabled (the default): obfuscated first, plaintext at once on refusal, remembered', () => {
  const m = new MsePolicy()
  assert.equal(m.level, 'enabled')
  assert.equal(m.first(P), 'obfuscated')
  assert.equal(m.failed(P, 'obfuscated', 'handshake'), 'plaintext')
  m.succeeded(P, 'plaintext')
  assert.equal(m.first(P), 'plaintext')
  assert.equal(m.first('198.51.100.8:6881'), 'obfuscated', 'other peers are not affected')
})

test('enabled: a peer remembered as plaintext that refuses it is tried obfuscated next time', () => {
  const m = new MsePolicy('enabled')
  m.failed(P, 'obfuscated', 'handshake')
  assert.equal(m.first(P), 'plaintext')
  assert.equal(m.failed(P, 'plaintext', 'handshake'), null)
  assert.equal(m.first(P), 'obfuscated')
})

test('a failure to connect at all says nothing about encryption', () => {
  const m = new MsePolicy('enabled')
  assert.equal(m.failed(P, 'obfuscated', 'connect'), null)
  assert.equal(m.first(P), 'obfuscated')
  m.succeeded(P, 'plaintext')
  assert.equal(m.failed(P, 'plaintext', 'connect'), null)
  assert.equal(m.first(P), 'plaintext')
})

test('the memory is bounded: the least recently used peer goes first', () => {
  const m = new MsePolicy('enabled', 3)
  for (const p of ['a:1', 'b:1', 'c:1']) m.succeeded(p, 'plaintext')
  m.succeeded('a:1', 'plaintext') // a is now the most recent
  m.succeeded('d:1', 'plaintext')
  assert.equal(m.size, 3)
  assert.equal(m.first('b:1'), 'obfuscated', 'b was the oldest')
  assert.equal(m.first('a:1'), 'plaintext')
  assert.equal(m.first('d:1'), 'plaintext')
})

test('levels parse from text; the wire flag follows the handshake', () => {
  assert.equal(parseEncryptionLevel('disabled'), 'disabled')
  assert.equal(parseEncryptionLevel('enabled'), 'enabled')
  assert.equal(parseEncryptionLevel('forced'), 'forced')
  assert.equal(parseEncryptionLevel('on'), undefined)
  assert.equal(peEnabledFor('obfuscated'), 1)
  assert.equal(peEnabledFor('plaintext'), 0)
})

test('property: against peers that each accept a fixed set of handshakes, the policy never tries a forbidden one and reaches each peer it can within two attempts', () => {
  const level = fc.constantFrom<EncryptionLevel>('disabled', 'enabled', 'forced')
  // Each peer accepts: only plaintext, only obfuscated, or both.
  const accepts = fc.array(fc.constantFrom<Handshake[]>(['plaintext'], ['obfuscated'], ['plaintext', 'obfuscated']), { minLength: 1, maxLength: 5 })
  const dials = fc.array(fc.nat(4), { maxLength: 40 })
  fc.assert(
    fc.property(level, accepts, dials, (lvl, acc, order) => {
      const m = new MsePolicy(lvl)
      for (const raw of order) {
        const i = raw % acc.length
        const peer = `p${i}:1`
        let h: Handshake | null = m.first(peer)
        let attempts = 0
        let reached = false
        while (h !== null && attempts < 3) {
          attempts++
          if (lvl === 'disabled') assert.equal(h, 'plaintext')
          if (lvl === 'forced') assert.equal(h, 'obfuscated')
          if (acc[i]!.includes(h)) {
            m.succeeded(peer, h)
            reached = true
            break
          }
          h = m.failed(peer, h, 'handshake')
        }
        assert.ok(attempts <= 2, 'never more than one immediate retry')
        const reachable = lvl === 'enabled' || acc[i]!.includes(lvl === 'disabled' ? 'plaintext' : 'obfuscated')
        // With 'enabled' a peer is reached on this dial unless its memory says
        // plaintext and it wants obfuscated (then the next dial reaches it).
        if (lvl !== 'enabled') assert.equal(reached, reachable)
        if (lvl === 'enabled' && !reached) {
          assert.deepEqual(acc[i], ['obfuscated'])
          assert.equal(m.first(peer), 'obfuscated')
        }
      }
    })
  )
})
