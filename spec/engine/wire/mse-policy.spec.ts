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
  assert.equal(peEnabledFor('obfuscated-rc4'), 1)
  assert.equal(peEnabledFor('plaintext'), 0)
})

test('enabled: a peer that answers the key exchange and refuses plaintext payload is retried at once offering RC4, and that is remembered', () => {
  const m = new MsePolicy('enabled')
  assert.equal(m.failed(P, 'obfuscated', 'payload-offer'), 'obfuscated-rc4')
  assert.equal(m.first(P), 'obfuscated-rc4')
  m.succeeded(P, 'obfuscated-rc4')
  assert.equal(m.first(P), 'obfuscated-rc4')
  // Refusing RC4 as well leaves the plain handshake.
  assert.equal(m.failed(P, 'obfuscated-rc4', 'payload-offer'), 'plaintext')
})

test('forced: the RC4 retry is allowed (the handshake stays obfuscated), a plaintext one never', () => {
  const m = new MsePolicy('forced')
  assert.equal(m.failed(P, 'obfuscated', 'payload-offer'), 'obfuscated-rc4')
  m.succeeded(P, 'obfuscated-rc4')
  assert.equal(m.first(P), 'obfuscated-rc4')
  assert.equal(m.failed(P, 'obfuscated-rc4', 'payload-offer'), null)
  assert.equal(m.failed(P, 'obfuscated', 'handshake'), null)
})

/** A modelled peer: whether it speaks MSE (and which payload it allows) and whether it takes a plain handshake. */
interface ModelPeer { readonly mse: 'none' | 'plaintext-ok' | 'rc4-only'; readonly plain: boolean }

/** What the modelled peer does with an opening: accepts it, or refuses it at a stage. */
const answer = (peer: ModelPeer, h: Handshake): 'accepted' | 'handshake' | 'payload-offer' => {
  if (h === 'plaintext') return peer.plain ? 'accepted' : 'handshake'
  if (peer.mse === 'none') return 'handshake'
  if (h === 'obfuscated' && peer.mse === 'rc4-only') return 'payload-offer'
  return 'accepted'
}

test('property: against modelled peers the policy never tries what its level forbids, reaches every peer it may within three attempts, and never has RC4 chosen when the peer allows plaintext payload', () => {
  const level = fc.constantFrom<EncryptionLevel>('disabled', 'enabled', 'forced')
  const peer = fc.record({ mse: fc.constantFrom<ModelPeer['mse']>('none', 'plaintext-ok', 'rc4-only'), plain: fc.boolean() })
  const peers = fc.array(peer, { minLength: 1, maxLength: 5 })
  const dials = fc.array(fc.nat(4), { maxLength: 40 })
  fc.assert(
    fc.property(level, peers, dials, (lvl, ps, order) => {
      const m = new MsePolicy(lvl)
      for (const raw of order) {
        const i = raw % ps.length
        const p = ps[i]!
        const address = `p${i}:1`
        let h: Handshake | null = m.first(address)
        let attempts = 0
        let reached = false
        while (h !== null && attempts < 4) {
          attempts++
          if (lvl === 'disabled') assert.equal(h, 'plaintext')
          if (lvl === 'forced') assert.notEqual(h, 'plaintext')
          const a = answer(p, h)
          if (a === 'accepted') {
            if (p.mse === 'plaintext-ok') assert.notEqual(h, 'obfuscated-rc4', 'RC4 offered to a peer that takes plaintext payload')
            m.succeeded(address, h)
            reached = true
            break
          }
          h = m.failed(address, h, a)
        }
        assert.ok(attempts <= 3, 'at most two immediate retries')
        const reachable = lvl === 'disabled' ? p.plain : lvl === 'forced' ? p.mse !== 'none' : p.plain || p.mse !== 'none'
        assert.equal(reached, reachable)
      }
    })
  )
})
