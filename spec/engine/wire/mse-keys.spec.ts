import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createDiffieHellman } from 'node:crypto'
import { MseKeyPair } from '../../../lib/engine/wire/mse-keys.ts'

const PRIME = 'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a63a36210000000000090563'

test('key pairs made on the shared group agree with each other and with a Diffie-Hellman object of their own', () => {
  const pairs = Array.from({ length: 6 }, () => new MseKeyPair())
  // Interleaved use: every pair makes its public value before any secret is computed.
  const publics = pairs.map((p) => p.generateKeys())
  assert.equal(new Set(publics.map((y) => y.toString('hex'))).size, pairs.length, 'each connection has its own key')
  for (let i = 0; i < pairs.length; i++) {
    const j = (i + 1) % pairs.length
    const ab = pairs[i]!.computeSecret(publics[j]!)
    const ba = pairs[j]!.computeSecret(publics[i]!)
    assert.equal(ab.length, 96)
    assert.ok(ab.equals(ba), `pairs ${i} and ${j} compute the same secret`)
  }
  // Against the library's own kind of object: the same group, so the same secret.
  const own = createDiffieHellman(PRIME, 'hex', 2)
  const yOwn = own.generateKeys()
  assert.ok(pairs[0]!.computeSecret(yOwn).equals(own.computeSecret(publics[0]!)))
  assert.ok(pairs[0]!.generateKeys().equals(publics[0]!), 'the public value is made once')
})
