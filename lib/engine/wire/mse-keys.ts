/**
 * Diffie-Hellman keys for MSE openings, made cheaply. bittorrent-protocol
 * makes a fresh `crypto.createDiffieHellman(prime)` for every encrypted
 * connection, and Node checks the prime of each such object for primality:
 * about 18 ms of the main thread per connection on a 2-core machine, so a
 * few hundred openings (a client with many torrents, or a burst of incoming
 * peers) stall every torrent of the process for seconds. The MSE prime is a
 * constant, so one checked object serves every connection: each connection
 * keeps its own private key, and the shared object is loaded with it for the
 * two synchronous steps that need it (making the public key, computing the
 * secret). Nothing is awaited between loading and using it, so connections
 * cannot see each other's keys.
 *
 * @internal
 * @module
 */
import { createDiffieHellman, randomBytes, type DiffieHellman } from 'node:crypto'

/** The MSE (BEP 8 draft) 768-bit prime P, generator 2. */
const MSE_PRIME = 'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a63a36210000000000090563'

/** Private key length: the MSE text asks for at least 128 bits and recommends 160. */
const PRIVATE_KEY_BYTES = 20

let shared: DiffieHellman | null = null
const group = (): DiffieHellman => (shared ??= createDiffieHellman(MSE_PRIME, 'hex', 2))

/**
 * One connection's key pair, with the two calls bittorrent-protocol's MSE
 * layer makes of its Diffie-Hellman object.
 *
 * @example
 * ```ts
 * const a = new MseKeyPair(); const b = new MseKeyPair()
 * const ya = a.generateKeys(); const yb = b.generateKeys()
 * a.computeSecret(yb).equals(b.computeSecret(ya)) // true, 96 bytes
 * ```
 */
export class MseKeyPair {
  private readonly privateKey = randomBytes(PRIVATE_KEY_BYTES)
  private publicKey: Buffer | null = null

  /** Our public value Y = 2^X mod P (made once). */
  generateKeys (): Buffer {
    if (this.publicKey === null) {
      const dh = group()
      dh.setPrivateKey(this.privateKey)
      this.publicKey = dh.generateKeys()
    }
    return this.publicKey
  }

  /** The shared secret S = Y_peer^X mod P, zero-padded to the prime's 96 bytes. */
  computeSecret (peerPublic: Uint8Array): Buffer {
    const dh = group()
    dh.setPrivateKey(this.privateKey)
    return dh.computeSecret(peerPublic)
  }
}
